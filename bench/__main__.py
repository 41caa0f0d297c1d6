"""``python -m bench``: the benchmarks' own entry point (``crm bench`` hands its arguments here)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.run import BenchError, run_bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm bench", description="Benchmark the system against the raw "
                                     "limits of its parts (PostgreSQL, its own Kafka, wrk).")
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help="view-read, customer-create, relay, convergence, write-cost, import, search, "
                             "sales-forecast, lead-intake, order-flow, receivables, audience, send, inbound-email, sla-clock, "
                             "memory, replay (default: all).")
    parser.add_argument("--quick", action="store_true", help="Smaller data sets and shorter runs (under 4 minutes).")
    parser.add_argument("--profile", action="store_true",
                        help="Record py-spy profiles of what each scenario measures (the services under load, the "
                             "relay, import and replay commands) into bench/results/profiles/.")
    parser.add_argument("--out", type=Path, help="Where to write the results (default: bench/results/latest.md).")
    args = parser.parse_args(argv)
    try:
        return run_bench(args.scenarios, quick=args.quick, out=args.out, profile=args.profile)
    except BenchError as exc:
        print(f"crm bench: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
