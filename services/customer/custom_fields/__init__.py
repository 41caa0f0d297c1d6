"""Custom fields: the typed fields a tenant declares for its customers."""
