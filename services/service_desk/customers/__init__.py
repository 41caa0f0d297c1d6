"""The customers the service desk works for, as the customer service publishes them: the unified-view
replica and the customer life cycle (merges, unmerges, erasure) that tickets follow."""
