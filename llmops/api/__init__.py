"""HTTP API: blueprints per family (studio, openai, compat) and the shared response helpers."""
