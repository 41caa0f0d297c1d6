"""Products and services sales sells: SKU, category path, cost price, and bundles of other products."""
