"""Model providers: the registry (models.yaml), chat and embedding clients, the streaming relay and
safe outbound fetches. Never imports Flask: callers pass settings and objects in."""
