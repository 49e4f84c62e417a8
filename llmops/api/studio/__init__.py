"""Studio API blueprints (API.md A): the ``{code, data, message}`` envelope."""
