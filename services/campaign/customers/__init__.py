"""The customers campaigns target, as the customer service publishes them: the unified-view replica and
the customer life cycle (merges, unmerges, erasure) that memberships follow."""
