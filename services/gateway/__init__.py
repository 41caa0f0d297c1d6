"""The gateway: one origin for clients (the edge where API keys, rate limits and webhooks will live)."""
