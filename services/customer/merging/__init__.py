"""Merging duplicate customers into a survivor, undoing a merge, and where each value came from."""
