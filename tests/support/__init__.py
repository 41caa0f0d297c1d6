"""Test support: a whole OneView CRM system (real Kafka, real databases, real processes)."""
