"""Bulk lead import: ``POST /v1/leads/import`` with CSV or NDJSON, each row created, de-duplicated, scored and
routed exactly as ``POST /v1/leads`` does, with a result per row."""
