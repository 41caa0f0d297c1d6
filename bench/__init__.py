"""OneView CRM benchmarks: every figure of ours beside the raw limit of its parts, measured in the same run.

Run with ``make bench`` / ``make bench-quick`` or ``crm bench [SCENARIO ...] [--quick]``;
results go to ``bench/results/latest.md``. See the README's "Benchmarks" section.
"""
