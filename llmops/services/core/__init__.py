"""Accounts, balances, usage records and metering, the model registry, claims and the secret box:
what every other layer builds on."""
