"""Tools an agent can call: builtin providers (``builtin/providers.yaml``), custom API tools from
OpenAPI schemas (``openapi``), the guarded HTTP client both use (``http``) and the runtime form
the agent loop binds (``runtime``). No Flask routes here; services own the use cases."""
