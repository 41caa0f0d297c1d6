"""A local single-node Apache Kafka broker for development and tests.

Kafka 4.x is fetched as plain jars from Maven Central with ``mvn`` (no Docker,
no tarball downloads) and cached outside the repository. ``LocalKafka`` then
runs one JVM that is both broker and KRaft controller, bound to 127.0.0.1.

Typical use::

    kafka = LocalKafka(data_dir=Path("var/kafka"))
    kafka.start()          # returns once clients can talk to it
    ...
    kafka.stop()

``start`` on the same ``data_dir`` after ``stop`` or ``kill`` reuses the stored
data, so tests can simulate a broker crash and check that nothing is lost. A
broker started by one process can be stopped from another with
``stop_from_pidfile``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient

__all__ = [
    "DEFAULT_VERSION",
    "LocalKafka",
    "default_cache_dir",
    "ensure_kafka",
    "read_pid",
    "stop_from_pidfile",
]

# Newest Kafka 4.x release that Maven Central served when this was written.
DEFAULT_VERSION = "4.4.0"

_SCALA_BINARY = "2.13"
_VERSION_RE = re.compile(r"^[0-9][0-9A-Za-z.\-]*$")

# File names inside data_dir. The broker's own storage lives in a subfolder
# so the generated config, pid file and log sit next to it, not inside it.
_STORAGE_SUBDIR = "kraft"
_PID_FILE = "kafka.pid"
_SERVER_PROPERTIES = "server.properties"
_LOG4J_CONFIG = "log4j2.properties"
_DEFAULT_LOG_FILE = "kafka.log"

_NODE_ID = 1
_HOST = "127.0.0.1"
_BROKER_HEAP = ("-Xms256m", "-Xmx512m")
_TOOL_HEAP = ("-Xmx256m",)


# --------------------------------------------------------------------------
# Fetching the jars
# --------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """Where downloaded Kafka jars are kept: ``$CRM_CACHE_DIR`` or ``~/.cache/oneview-crm``."""
    configured = os.environ.get("CRM_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "oneview-crm"


def ensure_kafka(version: str = DEFAULT_VERSION, cache_dir: Path | None = None) -> Path:
    """Return a folder holding every jar a Kafka ``version`` broker needs, fetching it if missing.

    The folder only ever appears complete: jars are downloaded next to it and
    renamed into place, so an interrupted fetch leaves no half-filled cache.
    """
    _check_version(version)
    version_dir = (cache_dir or default_cache_dir()) / f"kafka-{version}"
    libs = version_dir / "libs"
    if _is_complete(libs, version):
        return libs

    version_dir.mkdir(parents=True, exist_ok=True)
    # Staging on the same filesystem as the target keeps the final rename atomic.
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=version_dir))
    try:
        staged_libs = staging / "libs"
        _fetch_jars(version, staging, staged_libs)
        if not _is_complete(staged_libs, version):
            raise RuntimeError(f"mvn finished but kafka_{_SCALA_BINARY}-{version}.jar is missing")
        with contextlib.suppress(OSError):
            # Losing this race to a concurrent fetch is fine: its copy is identical.
            staged_libs.rename(libs)
        if not _is_complete(libs, version):
            raise RuntimeError(f"could not move fetched Kafka jars into {libs}")
        return libs
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_version(version: str) -> None:
    # The version is spliced into a pom.xml; refuse anything that is not a plain version.
    if not _VERSION_RE.match(version):
        raise ValueError(f"not a Kafka version: {version!r}")


def _is_complete(libs: Path, version: str) -> bool:
    return (libs / f"kafka_{_SCALA_BINARY}-{version}.jar").is_file()


def _fetch_jars(version: str, workdir: Path, out_dir: Path) -> None:
    pom = workdir / "pom.xml"
    pom.write_text(_pom_xml(version), encoding="utf-8")
    _run_mvn(
        workdir,
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out_dir}",
    )
    # Kafka logs through SLF4J but ships no binding for it on Maven Central;
    # without one the broker runs silently. The binding must match the
    # log4j-core version Kafka brought along, which is only known now.
    binding = _slf4j_binding_for(out_dir)
    _run_mvn(
        workdir,
        "dependency:copy",
        f"-Dartifact={binding}",
        f"-DoutputDirectory={out_dir}",
    )


def _pom_xml(version: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.oneview-crm</groupId>
  <artifactId>kafka-fetch</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{_SCALA_BINARY}</artifactId>
      <version>{version}</version>
    </dependency>
  </dependencies>
</project>
"""


def _slf4j_binding_for(libs: Path) -> str:
    """Maven coordinates of the log4j2 SLF4J binding matching the jars in ``libs``."""
    log4j = _jar_version(libs, "log4j-core")
    slf4j = _jar_version(libs, "slf4j-api")
    if log4j is None or slf4j is None:
        raise RuntimeError(f"expected log4j-core and slf4j-api among Kafka's jars in {libs}")
    # SLF4J 2 finds bindings differently from 1.x, so log4j ships one artifact per line.
    artifact = "log4j-slf4j2-impl" if slf4j.startswith("2.") else "log4j-slf4j-impl"
    return f"org.apache.logging.log4j:{artifact}:{log4j}"


def _jar_version(libs: Path, artifact: str) -> str | None:
    pattern = re.compile(rf"^{re.escape(artifact)}-([0-9][^-]*(?:-[A-Za-z0-9.]+)?)\.jar$")
    for jar in libs.glob(f"{artifact}-*.jar"):
        match = pattern.match(jar.name)
        if match:
            return match.group(1)
    return None


def _run_mvn(workdir: Path, *args: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven ('mvn') is needed to fetch Kafka but is not on PATH")
    result = subprocess.run(
        [mvn, "-q", "-B", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise RuntimeError(f"mvn {' '.join(args)} failed (exit {result.returncode}):\n{tail}")


# --------------------------------------------------------------------------
# Running the broker
# --------------------------------------------------------------------------


@dataclass
class LocalKafka:
    """One local Kafka broker+controller process whose state lives in ``data_dir``."""

    data_dir: Path
    port: int = 9092
    controller_port: int = 9093
    version: str = DEFAULT_VERSION
    log_file: Path | None = None
    cache_dir: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if self.log_file is None:
            self.log_file = self.data_dir / _DEFAULT_LOG_FILE
        self.log_file = Path(self.log_file).resolve()
        if self.port == self.controller_port:
            raise ValueError("port and controller_port must differ")

    @property
    def bootstrap_servers(self) -> str:
        return f"{_HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 60) -> None:
        """Start the broker and return once a Kafka client can list its topics.

        A no-op if this object's broker is already running; an error if some
        other process runs a broker on ``data_dir`` or holds one of the ports.
        """
        if self._process is not None and self._process.poll() is None:
            return
        self._refuse_if_occupied()
        libs = ensure_kafka(self.version, self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        assert self.log_file is not None
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._write_configs()
        if not (self._storage_dir / "meta.properties").exists():
            self._format_storage(libs)

        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        self._process = self._spawn(libs)
        _pid_path(self.data_dir).write_text(f"{self._process.pid}\n", encoding="ascii")
        try:
            self._wait_until_ready(timeout, log_offset)
        except BaseException:
            # A broker that never became ready is of no use and would hold the ports.
            self.kill()
            raise

    def stop(self, timeout: float = 30) -> None:
        """Shut the broker down cleanly (SIGTERM), escalating to SIGKILL after ``timeout``."""
        if self._process is None:
            stop_from_pidfile(self.data_dir, timeout)
            return
        _signal_group(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._forget_process()

    def kill(self) -> None:
        """SIGKILL the broker at once, as a crash would; its data stays on disk."""
        if self._process is None:
            _kill_from_pidfile(self.data_dir)
            return
        _signal_group(self._process.pid, signal.SIGKILL)
        self._process.wait()
        self._forget_process()

    def is_running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        # Started by another process (e.g. ``crm kafka start``): trust the pid file.
        return read_pid(self.data_dir) is not None

    # -- start-up steps ----------------------------------------------------

    @property
    def _storage_dir(self) -> Path:
        return self.data_dir / _STORAGE_SUBDIR

    @property
    def _server_properties(self) -> Path:
        return self.data_dir / _SERVER_PROPERTIES

    @property
    def _log4j_config(self) -> Path:
        return self.data_dir / _LOG4J_CONFIG

    def _refuse_if_occupied(self) -> None:
        other = read_pid(self.data_dir)
        if other is not None:
            raise RuntimeError(
                f"a Kafka broker (pid {other}) is already running on {self.data_dir}; "
                "stop it first (stop_from_pidfile)"
            )
        # Otherwise the readiness probe could succeed against someone else's broker.
        for port in (self.port, self.controller_port):
            if _port_open(port):
                raise RuntimeError(f"port {port} on {_HOST} is already in use")

    def _write_configs(self) -> None:
        # Rewritten on every start so changed ports take effect on existing data.
        self._server_properties.write_text(self._server_properties_text(), encoding="utf-8")
        self._log4j_config.write_text(_LOG4J2_PROPERTIES, encoding="utf-8")

    def _server_properties_text(self) -> str:
        settings: dict[str, str | int] = {
            "process.roles": "broker,controller",
            "node.id": _NODE_ID,
            # A static voter list (rather than a dynamic quorum bootstrapped with
            # --standalone) keeps the data dir usable if controller_port changes.
            "controller.quorum.voters": f"{_NODE_ID}@{_HOST}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{_HOST}:{self.port},CONTROLLER://{_HOST}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{_HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self._storage_dir),
            # One node: every internal topic must make do with a single replica.
            "offsets.topic.replication.factor": 1,
            "transaction.state.log.replication.factor": 1,
            "transaction.state.log.min.isr": 1,
            "share.coordinator.state.topic.replication.factor": 1,
            "share.coordinator.state.topic.min.isr": 1,
            "default.replication.factor": 1,
            "min.insync.replicas": 1,
            "auto.create.topics.enable": "true",
            "num.partitions": 3,
            # Tests start consumers right away; the default 3 s delay only slows them.
            "group.initial.rebalance.delay.ms": 0,
            # After a kill -9 the controller rejects the restarted broker's
            # registration until the old session expires (9 s by default).
            "broker.heartbeat.interval.ms": 500,
            "broker.session.timeout.ms": 3000,
            # Thread pools sized for one node on a couple of cores (the defaults: 3 network,
            # 8 request-handler and 10 background threads, each waking up on its own).
            "num.network.threads": 2,
            "num.io.threads": 2,
            "background.threads": 2,
        }
        lines = [f"{key}={value}" for key, value in settings.items()]
        header = "# Generated by crm/localkafka.py on every start; edits are lost."
        return "\n".join([header, *lines]) + "\n"

    def _format_storage(self, libs: Path) -> None:
        command = [
            *_java_command(libs, _TOOL_HEAP, self._log4j_config),
            "kafka.tools.StorageTool",
            "format",
            "--config",
            str(self._server_properties),
            "--cluster-id",
            _new_cluster_id(),
            # A broker killed between format and first start leaves a formatted dir; accept it.
            "--ignore-formatted",
        ]
        result = subprocess.run(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"formatting Kafka storage in {self._storage_dir} failed "
                f"(exit {result.returncode}):\n{_excerpt(result.stdout)}"
            )

    def _spawn(self, libs: Path) -> subprocess.Popen[bytes]:
        assert self.log_file is not None
        command = [
            *_java_command(libs, _BROKER_HEAP, self._log4j_config),
            "kafka.Kafka",
            str(self._server_properties),
        ]
        with open(self.log_file, "ab") as log:
            # Own session/process group: Ctrl-C in the caller's terminal must not
            # reach the broker, and the broker may outlive a CLI that started it.
            return subprocess.Popen(
                command,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_until_ready(self, timeout: float, log_offset: int) -> None:
        deadline = time.monotonic() + timeout
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"Kafka exited with code {self._process.returncode} while starting; "
                    f"log {self.log_file}:\n{self._log_tail(log_offset)}"
                )
            if _port_open(self.port) and _admin_answers(self.bootstrap_servers):
                return
            time.sleep(0.25)
        raise RuntimeError(
            f"Kafka did not become ready on {self.bootstrap_servers} within {timeout:g}s; "
            f"log {self.log_file}:\n{self._log_tail(log_offset)}"
        )

    def _log_tail(self, offset: int) -> str:
        assert self.log_file is not None
        try:
            with open(self.log_file, "rb") as log:
                log.seek(offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return _excerpt(text)

    def _forget_process(self) -> None:
        self._process = None
        _pid_path(self.data_dir).unlink(missing_ok=True)


_LOG4J2_PROPERTIES = """\
# Generated by crm/localkafka.py. Kafka's own scripts would point log4j2 at
# config/log4j2.yaml; the Maven jars ship no config, so without this file
# log4j2 would print only errors. Everything goes to stdout, i.e. the log file.
status = warn
# Kafka logs its own shutdown from a JVM shutdown hook; log4j's hook would
# otherwise close the appender first and swallow those lines.
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = warn
"""


def _excerpt(output: str, tail: int = 30) -> str:
    """The lines of Kafka output worth showing in an exception message."""
    lines = output.splitlines()
    if not lines:
        return "(no output)"
    # Java stack traces end in "... N more", and Kafka dumps its whole config
    # at INFO first, so the plain tail often misses the actual error message.
    errors = [line for line in lines if " ERROR " in line or "Exception" in line][:5]
    shown = [line for line in errors if line not in lines[-tail:]]
    if shown:
        return "\n".join(["first errors:", *shown, "last lines:", *lines[-tail:]])
    return "\n".join(lines[-tail:])


def _java_command(libs: Path, heap: tuple[str, ...], log4j_config: Path) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("Java 17+ ('java') is needed to run Kafka but is not on PATH")
    return [
        java,
        *heap,
        # A small heap on a small machine: the serial collector has no background GC threads,
        # and two compiler threads are plenty for one broker (the defaults size both for a server).
        "-XX:+UseSerialGC",
        "-XX:CICompilerCount=2",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_config}",
        "-cp",
        f"{libs}/*",
    ]


def _new_cluster_id() -> str:
    """A random cluster id in Kafka's format: 16 bytes, URL-safe base64, unpadded."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        # Kafka avoids a leading '-' too: command-line parsers take it for an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((_HOST, port), timeout=1):
        return True
    return False


def _admin_answers(bootstrap_servers: str) -> bool:
    # The port opens before the broker has caught up with its metadata log;
    # only a real metadata round-trip shows clients will get answers.
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            client_id="localkafka-readiness",
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
        )
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


# --------------------------------------------------------------------------
# Pid file: lets one process stop a broker another process started
# --------------------------------------------------------------------------


def _pid_path(data_dir: Path) -> Path:
    return Path(data_dir) / _PID_FILE


def read_pid(data_dir: Path) -> int | None:
    """The pid of the broker running on ``data_dir``, or None (stale pid files are ignored)."""
    try:
        pid = int(_pid_path(data_dir).read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid, Path(data_dir)) else None


def _is_our_broker(pid: int, data_dir: Path) -> bool:
    # Pids get reused; only signal a live Kafka whose config is in this data_dir.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    expected = str(Path(data_dir).resolve() / _SERVER_PROPERTIES).encode()
    return state != "Z" and b"kafka.Kafka" in cmdline and expected in cmdline


def stop_from_pidfile(data_dir: Path, timeout: float = 30) -> bool:
    """Stop the broker recorded in ``data_dir``'s pid file; True if one was running."""
    pid = read_pid(data_dir)
    if pid is None:
        _pid_path(data_dir).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    if not _wait_gone(pid, Path(data_dir), timeout):
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, Path(data_dir), 10)
    _pid_path(data_dir).unlink(missing_ok=True)
    return True


def _kill_from_pidfile(data_dir: Path) -> None:
    pid = read_pid(data_dir)
    if pid is not None:
        _signal_group(pid, signal.SIGKILL)
        _wait_gone(pid, Path(data_dir), 10)
    _pid_path(data_dir).unlink(missing_ok=True)


def _wait_gone(pid: int, data_dir: Path, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _is_our_broker(pid, data_dir):
            return True
        time.sleep(0.1)
    return not _is_our_broker(pid, data_dir)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The broker leads its own process group (start_new_session), so signalling
    # the group also reaches anything the JVM may have forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
