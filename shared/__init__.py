"""The library every OneView CRM service shares: settings, database, outbox, Kafka, HTTP conventions, auth.

Nothing domain-specific lives here; services meet only through HTTP and events.
"""
