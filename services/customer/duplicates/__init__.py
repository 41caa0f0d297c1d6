"""Duplicate detection: likely duplicates with a score and the reasons, ready for a merge."""
