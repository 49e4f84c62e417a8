"""Studio API blueprints (docs/api.md A): the ``{code, data, message}`` envelope."""
