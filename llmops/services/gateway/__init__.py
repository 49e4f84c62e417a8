"""The OpenAI-compatible gateway: the relay to providers, API keys, billing, redeem codes and vision."""
