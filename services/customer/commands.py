"""The customer service's sub-commands of ``crm``: ``seed``, ``import`` and ``export``.

They work on the customer database directly (no service needs to run); the created
customers' events wait in its outbox until the customer service's relay publishes them.
What they run is imported when they run: every ``crm`` command builds this parser.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from shared.settings import load_settings

if TYPE_CHECKING:
    from services.customer.importing.service import BulkImporter, ImportReport

Handler = Callable[[argparse.Namespace], int]


class Failed(Exception):
    """A failure the operator can act on: printed as one message, no traceback."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("seed", help="Fill a tenant with realistic demo customers (same seed, same data).")
    sub.add_argument("--tenant", required=True, help="Tenant to fill.")
    sub.add_argument("--customers", type=_positive_int, default=1000, help="How many (default: 1000).")
    sub.add_argument("--seed", type=int, default=1, help="Random seed (default: 1).")
    sub.set_defaults(handler=_reported(seed))

    sub = commands.add_parser("import", help="Import customers from a CSV or NDJSON file (re-runs never create twice).")
    sub.add_argument("file", type=Path, help="The file; '-' reads standard input.")
    sub.add_argument("--tenant", required=True, help="Tenant to import into.")
    sub.add_argument("--format", choices=("csv", "ndjson"), help="Default: from the file name (.csv, else NDJSON).")
    sub.add_argument("--match-duplicates", action="store_true",
                     help="Rows whose e-mail or phone a customer already has are reported as matched, not created.")
    sub.set_defaults(handler=_reported(import_file))

    sub = commands.add_parser("export", help="Export a tenant's customers as NDJSON or CSV (importable again).")
    sub.add_argument("--tenant", required=True, help="Tenant to export.")
    sub.add_argument("--format", choices=("ndjson", "csv"), default="ndjson", help="Default: ndjson.")
    sub.add_argument("--output", type=Path, help="File to write (default: standard output).")
    sub.set_defaults(handler=_reported(export))


def seed(args: argparse.Namespace) -> int:
    from services.customer.importing import service

    with _importer(args.tenant, args.customers) as importer:
        report = service.seed(importer, args.customers, args.seed)
    return _print_report(report)


def import_file(args: argparse.Namespace) -> int:
    from services.customer.importing import service

    csv_mode = args.format == "csv" if args.format else args.file.suffix.lower() == ".csv"
    if str(args.file) != "-" and not args.file.is_file():
        raise Failed(f"no such file: {args.file}")
    with contextlib.ExitStack() as files:
        stream = sys.stdin.buffer if str(args.file) == "-" else files.enter_context(args.file.open("rb"))
        with _importer(args.tenant, None, match_duplicates=args.match_duplicates) as importer:
            report = service.import_chunks(importer, iter(partial(stream.read, 1 << 20), b""), csv_mode)
    return _print_report(report)


def export(args: argparse.Namespace) -> int:
    from services.customer.importing import service
    from shared.db import make_engine, make_sessions

    engine = make_engine(load_settings("customer").database_url)
    try:
        with contextlib.ExitStack() as files:
            out = files.enter_context(args.output.open("w", encoding="utf-8")) if args.output else sys.stdout
            count = service.export(make_sessions(engine), args.tenant, args.format == "csv", out.write)
    except Exception as exc:  # noqa: BLE001 - e.g. an unmigrated database: one line, no traceback
        raise Failed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
    print(f"exported {count} customers of tenant {args.tenant}", file=sys.stderr)
    return 0


def _reported(handler: Handler) -> Handler:
    """The handler, with a ``Failed`` printed the way every ``crm`` command reports one."""

    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except Failed as exc:
            print(f"crm {args.command}: {exc}", file=sys.stderr)
            return 1

    return run


@contextlib.contextmanager
def _importer(tenant: str, total: int | None, *, match_duplicates: bool = False) -> Iterator[BulkImporter]:
    """A bulk importer on the customer database, printing progress to standard error."""
    from services.customer.importing.service import BulkImporter
    from shared.db import make_engine, make_sessions

    engine = make_engine(load_settings("customer").database_url)
    started = time.monotonic()
    done = 0

    def progress(created: int) -> None:
        nonlocal done
        done += created
        rate = done / max(time.monotonic() - started, 1e-9)
        of = f"/{total}" if total else ""
        print(f"\r  created {done}{of} customers ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)

    try:
        yield BulkImporter(make_sessions(engine), tenant, on_commit=progress, match_duplicates=match_duplicates)
    except Failed:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. an unmigrated database: one line, no traceback
        raise Failed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
        elapsed = time.monotonic() - started
        print(f"\r  {done} customers created in {elapsed:.1f}s ({done / max(elapsed, 1e-9):,.0f}/s)",
              file=sys.stderr, flush=True)


def _print_report(report: ImportReport) -> int:
    summary = report.as_dict()
    print(json.dumps({k: v for k, v in summary.items() if k not in ("errors", "matches")}))
    for match in summary.get("matches", [])[:20]:
        print(f"line {match['line']}: matched customer {match['customer_id']} ({', '.join(match['reasons'])})",
              file=sys.stderr)
    for error in summary["errors"][:20]:
        fields = "; ".join(f"{e['field']}: {e['message']}" for e in error["errors"])
        print(f"line {error['line']}: {fields}", file=sys.stderr)
    return 1 if summary["failed"] else 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value
