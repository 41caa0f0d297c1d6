"""The ``crm`` command line for operators: run everything locally, migrate, mint dev tokens, manage Kafka, replay.

One small function per sub-command (``cmd_<name>``) plus ``build_parser``; adding a
command means adding one of each. ``crm run`` is the one-machine mode: a local Kafka
(unless one is configured), the four services and the gateway as child processes,
all stopped again, in order, on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

import httpx

from crm.children import Child, preload
from crm.children import start as fork_child
from crm.registry import ALL_SCOPES, DEFAULT_PORTS, SERVICES, register_service_commands
from shared.auth import mint_token
from shared.settings import Settings, load_settings

if TYPE_CHECKING:
    # Imported lazily below: `crm token` and `crm migrate` need no Kafka client.
    from crm.localkafka import LocalKafka

HOST = "127.0.0.1"
DEV_TENANT = "demo"
DEFAULT_KAFKA_PORT = 9092
STARTUP_TIMEOUT_SECONDS = 90.0
# How long the banner waits for every consumer to hold its partitions (seconds, normally).
READY_TIMEOUT_SECONDS = 60.0
# Services stop their relay and consumers on shutdown; give them time before SIGKILL.
STOP_TIMEOUT_SECONDS = 15.0
POLL_SECONDS = 0.25
# A service's worker listens this far above its API's port.
WORKER_PORT_OFFSET = 10
# A child that exits is started again after this pause, doubled for each quick death, at most the maximum;
# one that has run this long is stable and its next restart waits the first pause again.
RESTART_BACKOFF_SECONDS = 1.0
MAX_RESTART_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # `crm bench` hands its options to the benchmarks' own parser, which argparse's REMAINDER
    # does not do for options that come first (`crm bench --quick`).
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "bench":
        args.arguments = [*unknown, *args.arguments]
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except CommandFailed as exc:
        print(f"crm {args.command}: {exc}", file=sys.stderr)
        return 1


class CommandFailed(Exception):
    """A failure the operator can act on: printed as one message, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm", description="OneView CRM operator command line.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_migrate(commands)
    _add_token(commands)
    _add_kafka(commands)
    _add_run(commands)
    # Sub-commands a service brings itself (the customer service's seed, import, export).
    register_service_commands(commands)
    _add_replay(commands)
    _add_check_consistency(commands)
    _add_dlq(commands)
    _add_status(commands)
    _add_schemas(commands)
    _add_bench(commands)
    return parser


# --- crm migrate ------------------------------------------------------------------------


def _add_migrate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("migrate", help="Upgrade each service's database to the newest schema.")
    sub.add_argument("--service", choices=SERVICES, help="Only this service (default: all of them).")
    sub.set_defaults(handler=cmd_migrate)


def cmd_migrate(args: argparse.Namespace) -> int:
    services = [args.service] if args.service else list(SERVICES)
    require_services(services)
    migrate(services)
    return 0


def migrate(services: Sequence[str]) -> None:
    # Imported here: Alembic is only needed by the commands that migrate.
    from shared.migrate import upgrade

    for service in services:
        settings = load_settings(service)
        try:
            upgrade(service, settings.database_url)
        except Exception as exc:  # noqa: BLE001 - reported as one line per service
            raise CommandFailed(f"migrating the {service} database failed: {type(exc).__name__}: {exc}") from exc
        print(f"migrated {service}: {_redacted(settings.database_url)}")


def _redacted(database_url: str) -> str:
    """The URL without its password, fit for a terminal."""
    scheme, sep, rest = database_url.partition("://")
    credentials, at, location = rest.rpartition("@")
    if not sep or not at or ":" not in credentials:
        return database_url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


def require_services(services: Sequence[str]) -> None:
    """Fail clearly, before anything starts, if a service has not been written yet."""
    missing = [s for s in services if not _has_app(s)]
    if missing:
        found = ", ".join(f"services/{s}/app.py" for s in missing)
        raise CommandFailed(f"missing service code: {found} (each needs create_app())")


def _has_app(service: str) -> bool:
    try:
        return importlib.util.find_spec(f"services.{service}.app") is not None
    except ModuleNotFoundError:
        # find_spec imports the parent package, and services/<name>/ may not exist at all.
        return False


# --- crm token --------------------------------------------------------------------------


def _add_token(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("token", help="Print a development bearer token (JWT).")
    sub.add_argument("--tenant", required=True, help="Tenant the token acts for.")
    sub.add_argument(
        "--scopes",
        nargs="+",
        choices=ALL_SCOPES,
        default=list(ALL_SCOPES),
        metavar="SCOPE",
        help=f"Scopes to grant (default: all of {', '.join(ALL_SCOPES)}).",
    )
    sub.add_argument("--subject", default="dev", help="Who the token is for (default: dev).")
    sub.add_argument("--hours", type=_positive_float, default=12.0, help="Lifetime in hours (default: 12).")
    sub.set_defaults(handler=cmd_token)


def cmd_token(args: argparse.Namespace) -> int:
    print(dev_token(load_settings(), tenant=args.tenant, scopes=args.scopes, subject=args.subject, hours=args.hours))
    return 0


def dev_token(
    settings: Settings, *, tenant: str, scopes: Sequence[str], subject: str = "dev", hours: float = 12.0
) -> str:
    return mint_token(
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        tenant=tenant,
        scopes=list(scopes),
        subject=subject,
        ttl=timedelta(hours=hours),
    )


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be greater than zero")
    return value


# --- crm kafka --------------------------------------------------------------------------


def _add_kafka(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("kafka", help="Start or stop a local single-node Kafka broker in the background.")
    sub.add_argument("action", choices=("start", "stop", "status"))
    sub.add_argument("--data-dir", type=Path, help="Broker data folder (default: <CRM_VAR_DIR or var>/kafka).")
    sub.add_argument("--port", type=int, default=DEFAULT_KAFKA_PORT, help="Client port (default: 9092).")
    sub.add_argument("--controller-port", type=int, help="KRaft controller port (default: port + 1).")
    sub.set_defaults(handler=cmd_kafka)


def cmd_kafka(args: argparse.Namespace) -> int:
    from crm import localkafka

    data_dir = args.data_dir or default_kafka_dir(load_settings())
    if args.action == "stop":
        stopped = localkafka.stop_from_pidfile(data_dir)
        print(f"stopped the Kafka broker on {data_dir}" if stopped else f"no Kafka broker was running on {data_dir}")
        return 0
    pid = localkafka.read_pid(data_dir)
    if args.action == "status":
        print(f"running (pid {pid}) on {data_dir}" if pid else f"not running on {data_dir}")
        return 0 if pid else 3
    if pid is not None:
        print(f"a Kafka broker is already running on {data_dir} (pid {pid})")
        return 0
    kafka = new_local_kafka(data_dir, args.port, args.controller_port)
    start_kafka(kafka)
    # The broker runs in its own session, so it outlives this command; stop it with `crm kafka stop`.
    print(f"Kafka is running at {kafka.bootstrap_servers} (pid {kafka.pid}, log {kafka.log_file})")
    return 0


def default_kafka_dir(settings: Settings) -> Path:
    return settings.var_dir / "kafka"


def new_local_kafka(data_dir: Path, port: int, controller_port: int | None = None) -> LocalKafka:
    from crm.localkafka import LocalKafka

    return LocalKafka(data_dir=data_dir, port=port, controller_port=controller_port or port + 1)


def start_kafka(kafka: LocalKafka) -> None:
    from crm.localkafka import ensure_kafka

    # The first run downloads Kafka's jars; say so, or the pause looks like a hang.
    print("preparing Kafka (the first run downloads it, which can take a few minutes)...", flush=True)
    try:
        ensure_kafka(kafka.version, kafka.cache_dir)
        kafka.start()
    except RuntimeError as exc:
        raise CommandFailed(f"Kafka did not start: {exc}") from exc


# --- crm run ----------------------------------------------------------------------------


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("run", help="Run Kafka, every service and the gateway on this machine.")
    sub.add_argument(
        "--port-base",
        type=int,
        default=None,
        help="Gateway port; the services take the next ones in order (default: $CRM_PORT_BASE or 8000).",
    )
    sub.add_argument(
        "--kafka-port",
        type=int,
        default=DEFAULT_KAFKA_PORT,
        help="Port of the local Kafka started when KAFKA_BOOTSTRAP_SERVERS is not set (default: 9092).",
    )
    sub.set_defaults(handler=cmd_run)


class Interrupted(Exception):
    """Raised in the main thread by SIGINT / SIGTERM, so every step unwinds through its cleanup."""


@dataclass
class Stack:
    """What ``crm run`` started, so that it can stop exactly that, in reverse order."""

    children: list[Child] = field(default_factory=list)
    kafka: LocalKafka | None = None


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    require_services(SERVICES)
    ports = run_ports(args.port_base if args.port_base is not None else settings.port_base)
    _require_free_ports(ports.values())
    stack = Stack()
    with _signals_interrupt():
        try:
            env = child_environment(settings, ports, stack, args.kafka_port)
            migrate(SERVICES)
            start_children(stack, ports, env)
            wait_until_healthy(stack.children)
            wait_until_ready(f"http://{HOST}:{ports['gateway']}")
            print_banner(settings, ports, env)
            supervise(stack.children)
        except Interrupted as exc:
            print(f"\n{exc}: stopping...", flush=True)
            return 0
        except CommandFailed as exc:
            # Said before the shutdown messages, so the cause is not buried under them.
            print(f"crm run: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            shut_down(stack)


def run_ports(port_base: int) -> dict[str, int]:
    """Gateway on ``port_base``, each service at its usual distance from it (8001 -> base + 1),
    each service's worker ``WORKER_PORT_OFFSET`` above its API (8011 for the customer worker)."""
    offset = port_base - DEFAULT_PORTS["gateway"]
    ports = {name: port + offset for name, port in DEFAULT_PORTS.items()}
    return ports | {worker_name(s): ports[s] + WORKER_PORT_OFFSET for s in SERVICES}


def worker_name(service: str) -> str:
    return f"{service}-worker"


def _require_free_ports(ports: Iterable[int]) -> None:
    taken = [port for port in ports if _port_in_use(port)]
    if taken:
        raise CommandFailed(
            f"port(s) {', '.join(map(str, taken))} on {HOST} are in use (another `crm run`?); "
            "stop it or pass --port-base"
        )


def _port_in_use(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def child_environment(settings: Settings, ports: dict[str, int], stack: Stack, kafka_port: int) -> dict[str, str]:
    """The environment every child runs with; starts a local Kafka if none is configured."""
    env = dict(os.environ)
    env["CRM_VAR_DIR"] = str(settings.var_dir)
    # The workers are listed too: the gateway's /readyz then waits for every consumer's partitions.
    env["CRM_SERVICE_URLS"] = json.dumps({name: f"http://{HOST}:{ports[name]}"
                                          for name in (*SERVICES, *map(worker_name, SERVICES))})
    # Both processes of a service read it: the worker listens there, its API sends wake-ups there.
    env |= {f"{s.upper()}_WORKER_PORT": str(ports[worker_name(s)]) for s in SERVICES}
    # Sales converts leads into customers through the customer service's API.
    env["CRM_CUSTOMER_SERVICE_URL"] = f"http://{HOST}:{ports['customer']}"
    if "kafka_bootstrap_servers" not in settings.model_fields_set:
        env["KAFKA_BOOTSTRAP_SERVERS"] = local_kafka_for_run(settings, stack, kafka_port)
    return env


def local_kafka_for_run(settings: Settings, stack: Stack, port: int) -> str:
    """Bootstrap address of the local broker: one ``crm kafka start`` left running, or a new one."""
    from crm.localkafka import read_pid

    data_dir = default_kafka_dir(settings)
    kafka = new_local_kafka(data_dir, port)
    pid = read_pid(data_dir)
    if pid is not None:
        # Not ours to stop: whoever started it will.
        print(f"using the Kafka broker already running on {data_dir} (pid {pid})")
        return kafka.bootstrap_servers
    stack.kafka = kafka
    try:
        start_kafka(kafka)
    except CommandFailed as exc:
        raise CommandFailed(f"{exc}\n(set KAFKA_BOOTSTRAP_SERVERS to use a broker that is already running)") from exc
    print(f"Kafka is running at {kafka.bootstrap_servers} (log {kafka.log_file})", flush=True)
    return kafka.bootstrap_servers


def start_children(stack: Stack, ports: dict[str, int], env: dict[str, str]) -> None:
    for service in SERVICES:
        stack.children.append(Child(worker_name(service), f"services.{service}.worker:create_worker",
                                    ports[worker_name(service)], env))
        stack.children.append(Child(service, f"services.{service}.app:create_app", ports[service], env))
    stack.children.append(Child("gateway", "services.gateway.app:create_gateway_from_env", ports["gateway"], env))
    preload(stack.children)
    for child in stack.children:
        fork_child(child)


def wait_until_healthy(children: list[Child]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    pending = list(children)
    with httpx.Client(timeout=2.0) as client:
        while pending:
            _fail_if_any_died(children, "while starting")
            pending = [c for c in pending if not _healthy(client, c)]
            if pending and time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise CommandFailed(f"{names} did not answer /healthz within {STARTUP_TIMEOUT_SECONDS:g}s")
            if pending:
                time.sleep(POLL_SECONDS)


def wait_until_ready(gateway: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Until the gateway's /readyz says every API and worker is ready (each consumer holds its
    partitions), so that the banner's promise holds: a write made after it reaches its view at once.

    A Kafka that is configured but down does not stop the run (writes wait in the outboxes); the
    banner is then preceded by what is not ready yet.
    """
    deadline = time.monotonic() + timeout
    report: dict[str, Any] = {}
    with httpx.Client(timeout=5.0) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = client.get(f"{gateway}/readyz")
                if answer.status_code == 200:
                    return
                report = answer.json().get("services", {})
            time.sleep(POLL_SECONDS / 5)
    waiting = ", ".join(f"{name} ({', '.join(c for c, ok in part.get('checks', {}).items() if not ok) or part.get('status')})"
                        for name, part in report.items() if part.get("status") != "ready")
    print(f"crm run: not ready after {timeout:g} s: {waiting or 'the gateway'}; serving anyway", file=sys.stderr, flush=True)


def _healthy(client: httpx.Client, child: Child) -> bool:
    try:
        return client.get(f"{child.url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def print_banner(settings: Settings, ports: dict[str, int], env: dict[str, str]) -> None:
    token = dev_token(settings, tenant=DEV_TENANT, scopes=ALL_SCOPES)
    kafka = env.get("KAFKA_BOOTSTRAP_SERVERS") or settings.kafka_bootstrap_servers
    lines = [
        "",
        f"OneView CRM is running. Gateway: http://{HOST}:{ports['gateway']}  (Kafka: {kafka})",
        *(f"  {s:<13} docs: http://{HOST}:{ports[s]}/docs" for s in SERVICES),
        f"Development token (tenant '{DEV_TENANT}', all scopes, 12 h):",
        token,
        "Press Ctrl-C to stop.",
        "",
    ]
    print("\n".join(lines), flush=True)


def supervise(children: list[Child]) -> NoReturn:
    """Wait until interrupted; a child that exits on its own is started again, after a growing pause.

    The pause doubles with each restart that follows a short life (a process that dies at
    once would otherwise spin) and starts over once a child has run for a while.
    """
    while True:
        now = time.monotonic()
        for child in children:
            code = child.poll()
            if code is None:
                if child.restart_at is None and now - child.started_at > STABLE_SECONDS:
                    child.backoff = RESTART_BACKOFF_SECONDS
                continue
            if child.restart_at is None:
                child.restart_at = now + child.backoff
                print(f"crm run: {child.name} exited with code {code}; starting it again in {child.backoff:g} s",
                      file=sys.stderr, flush=True)
            elif now >= child.restart_at:
                fork_child(child)
                child.backoff = min(child.backoff * 2, MAX_RESTART_BACKOFF_SECONDS)
                print(f"crm run: started {child.name} again (pid {child.pid})", file=sys.stderr, flush=True)
        time.sleep(POLL_SECONDS)


def _fail_if_any_died(children: list[Child], when: str) -> None:
    for child in children:
        code = child.poll()
        if code is not None:
            raise CommandFailed(
                f"{child.name} exited {when} with code {code}; stopping everything (see its output above)"
            )


def shut_down(stack: Stack) -> None:
    """Stop the gateway first (no new requests), then the services, then the Kafka we started."""
    # A second Ctrl-C must not cut the clean-up short and leave processes behind;
    # every step below is bounded by a timeout instead.
    with _signals_ignored():
        gateway = [c for c in stack.children if c.name == "gateway"]
        stop_children(gateway)
        stop_children([c for c in stack.children if c.name != "gateway"])
        if stack.kafka is not None:
            print("stopping Kafka...", flush=True)
            stack.kafka.stop()


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM all at once (they stop in parallel), then SIGKILL whoever outlives ``timeout``."""
    running = [c for c in children if c.process is not None and c.poll() is None]
    for child in running:
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in running:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop within {timeout:g}s; killing it", file=sys.stderr, flush=True)
            _signal_group(child, signal.SIGKILL)
            child.wait()


def _signal_group(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[None]:
    def interrupt(signum: int, _frame: FrameType | None) -> None:
        # Disarmed at once: a second signal must not abort the clean-up the first one started.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    with _signal_handlers(interrupt):
        yield


@contextlib.contextmanager
def _signals_ignored() -> Iterator[None]:
    with _signal_handlers(signal.SIG_IGN):
        yield


@contextlib.contextmanager
def _signal_handlers(handler: Callable[[int, FrameType | None], None] | signal.Handlers) -> Iterator[None]:
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


# --- crm replay / crm check-consistency --------------------------------------------------

PROJECTIONS = {"view": "customer", "customer": "customer", "sales": "sales", "service_desk": "service_desk",
               "campaign": "campaign"}


def _add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("replay", help="Rebuild a projection (the view, or a replica) from Kafka offset zero.")
    sub.add_argument("projection", choices=sorted(PROJECTIONS),
                     help="'view' (the customer service's unified view) or the service whose replica to rebuild.")
    sub.add_argument("--into", help="Database URL of the fresh copy (default: a new SQLite file under CRM_VAR_DIR).")
    sub.add_argument("--compare", action="store_true", help="Fail unless the rebuild hashes equal to the live one.")
    sub.set_defaults(handler=cmd_replay)


def cmd_replay(args: argparse.Namespace) -> int:
    from shared.migrate import upgrade
    from crm.projections import digest_of, replay

    service = PROJECTIONS[args.projection]
    settings = load_settings(service)
    target = args.into or f"sqlite:///{settings.var_dir / f'replay-{service}-{int(time.time())}.db'}"
    upgrade(service, target)
    result = replay(service, bootstrap_servers=settings.kafka_bootstrap_servers, database_url=target)
    print(f"replayed {result.records} records ({result.skipped} unreadable, skipped) into {_redacted(target)} "
          f"in {result.seconds:.1f}s ({result.per_second:,.0f}/s)")
    print(f"digest of the rebuild: {result.digest}")
    if not args.compare:
        return 0
    live = digest_of(service, settings.database_url)
    print(f"digest of the live projection: {live}")
    if live != result.digest:
        raise CommandFailed("the rebuild differs from the live projection (is the live one drained?)")
    print("identical")
    return 0


def _add_check_consistency(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("check-consistency", help="Compare every replica with the master unified view.")
    sub.set_defaults(handler=cmd_check_consistency)


def cmd_check_consistency(args: argparse.Namespace) -> int:
    from crm.projections import compare, states_of

    master = states_of("customer", load_settings("customer").database_url)
    drifted = False
    for service in SERVICES[1:]:
        drift = compare(service, master, states_of(service, load_settings(service).database_url))
        drifted = drifted or not drift.clean
        print(f"{service}: {drift.in_sync} in sync, {len(drift.missing)} missing, {len(drift.stale)} stale, "
              f"{len(drift.different)} different, {len(drift.unknown)} unknown to the master")
        for label, ids in (("missing", drift.missing), ("stale", drift.stale), ("different", drift.different),
                           ("unknown", drift.unknown)):
            for customer_id in ids[:10]:
                print(f"  {label}: {customer_id}")
    if drifted:
        raise CommandFailed("replicas drift from the master view (if writes are still flowing, wait and re-run)")
    print(f"all replicas match the master view ({len(master)} customers)")
    return 0


# --- crm status -------------------------------------------------------------------------


def _add_status(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("status", help="Each service's API and worker, outbox, consumer lag and dead letters.")
    sub.add_argument("--watch", nargs="?", const=2.0, type=float, metavar="SECONDS",
                     help="Refresh every SECONDS (default 2) until interrupted.")
    sub.add_argument("--json", action="store_true", help="One JSON document (per refresh with --watch).")
    sub.set_defaults(handler=cmd_status)


def cmd_status(args: argparse.Namespace) -> int:
    """Exit status 1 when an API or a worker is not up (without --watch), so scripts can wait on it."""
    from crm import status

    while True:
        found = status.gather()
        if args.json:
            print(json.dumps(status.as_json(found)), flush=True)
        else:
            if args.watch and sys.stdout.isatty():
                print("\033[2J\033[H", end="")
            print(f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n{status.render(found)}", flush=True)
        if not args.watch:
            return 0 if all(s.up for s in found) else 1
        try:
            time.sleep(args.watch)
        except KeyboardInterrupt:
            return 0


# --- crm dlq ----------------------------------------------------------------------------


def _add_dlq(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("dlq", help="List, show, retry or purge a service's dead letters.")
    sub.add_argument("action", choices=("list", "show", "retry", "purge"))
    sub.add_argument("service", choices=SERVICES)
    sub.add_argument("refs", nargs="*", metavar="PARTITION:OFFSET",
                     help="The dead letters to show, retry or purge (as list names them).")
    sub.add_argument("--all", action="store_true", help="retry or purge: every pending dead letter.")
    sub.add_argument("--json", action="store_true", help="list, show: one JSON document per dead letter.")
    sub.set_defaults(handler=cmd_dlq)


def cmd_dlq(args: argparse.Namespace) -> int:
    from crm import deadletters

    settings = load_settings(args.service)
    bootstrap = settings.kafka_bootstrap_servers
    letters = deadletters.pending(bootstrap, args.service)
    if args.action == "list":
        for letter in letters:
            if args.json:
                print(json.dumps(deadletters.describe(letter)))
            else:
                print(f"{letter.ref:>10}  {letter.at:%Y-%m-%d %H:%M:%S}  {letter.consumer:<16} "
                      f"{letter.topic}[{letter.source}]  {letter.event_type or '(unreadable)'}  {letter.error[:120]}")
        print(f"{len(letters)} pending dead letter(s) of {args.service}", file=sys.stderr)
        return 0
    if not args.refs and not (args.all and args.action in ("retry", "purge")):
        raise CommandFailed(f"name the dead letters to {args.action} (PARTITION:OFFSET), or --all")
    try:
        chosen = letters if args.all else deadletters.select(letters, args.refs)
    except KeyError as unknown:
        raise CommandFailed(f"no pending dead letter {unknown.args[0]} of {args.service}") from None
    if args.action == "show":
        for letter in chosen:
            print(json.dumps(deadletters.describe(letter), indent=2))
        return 0
    if args.action == "purge":
        deadletters.mark(bootstrap, args.service, [letter.ref for letter in chosen], "purged")
        print(f"purged {len(chosen)} dead letter(s)")
        return 0
    outcomes = deadletters.retry(bootstrap, args.service, settings.database_url, chosen)
    for outcome in outcomes:
        print(f"{outcome.ref}: {'ok' if outcome.ok else 'failed'}: {outcome.detail}")
    failed = [o for o in outcomes if not o.ok]
    if failed:
        raise CommandFailed(f"{len(failed)} of {len(outcomes)} dead letter(s) failed again and stay pending")
    return 0


# --- crm bench --------------------------------------------------------------------------


# --- crm schemas ------------------------------------------------------------------------


def _add_schemas(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser("schemas", help="Write the event catalogue (JSON Schema of every event type's data).")
    sub.add_argument("--check", action="store_true", help="Only check that the committed catalogue is current.")
    sub.set_defaults(handler=cmd_schemas)


def cmd_schemas(args: argparse.Namespace) -> int:
    from crm.catalogue import CATALOGUE_FILE, catalogue_text

    text = catalogue_text()
    current = CATALOGUE_FILE.read_text() if CATALOGUE_FILE.is_file() else None
    if args.check:
        if current != text:
            raise CommandFailed(f"{CATALOGUE_FILE} is out of date: run `crm schemas`")
        print(f"{CATALOGUE_FILE} is current")
        return 0
    CATALOGUE_FILE.parent.mkdir(parents=True, exist_ok=True)
    CATALOGUE_FILE.write_text(text)
    print(f"wrote {CATALOGUE_FILE}")
    return 0


def _add_bench(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser(
        "bench", add_help=False,
        help="Benchmark the system against the raw limits of its parts (PostgreSQL, its own Kafka, wrk).",
    )
    sub.add_argument("arguments", nargs=argparse.REMAINDER, help="see `crm bench --help`")
    sub.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    # bench/ lives in the source tree beside crm/ and tests/ (whose system harness it reuses),
    # not in the installed package: it runs from a checkout, as a program of its own, so the
    # command line never imports the benchmarks (they import the command line to look at it).
    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "run.py").is_file() or not (root / "tests" / "support" / "system.py").is_file():
        raise CommandFailed(f"the benchmarks run from a source checkout; {root} has no bench/ or tests/")
    return subprocess.call([sys.executable, "-m", "bench", *args.arguments], cwd=root)


if __name__ == "__main__":
    sys.exit(main())
