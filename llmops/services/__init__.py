"""Use cases: one function = one use case = one transaction. Services take ids and plain values."""
