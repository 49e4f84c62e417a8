"""Request schemas of the compatibility surfaces (``llmops/api/compat``), one module per surface
named as its blueprint: their component names in ``/openapi.json`` carry that prefix
(``llm_backend.RegisterSchema`` → ``LlmBackendRegister``), so the seeds' schemas never shadow
the studio's."""
