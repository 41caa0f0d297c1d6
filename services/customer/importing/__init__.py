"""Bulk import and export of customers (CSV, NDJSON) and demo data."""
