"""The child processes of ``crm run``: forked from the command once it has imported every service.

Started as fresh interpreters, the nine children (four APIs, their four workers, the
gateway) each spent about two seconds of CPU importing the same modules, all at the same
moment: on a 2-core machine a worker's consumer held its partitions 6-10 s after its
process started, of which the group join itself took 0.3 s (the restart scenarios in
``tests/faults``). Forked from a parent that imported them once, a child only builds its
app and serves it. The parent holds no threads, Kafka clients or open database connections
when it forks, and a child never returns into the parent's code: it leaves with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import FastAPI

HOST = "127.0.0.1"


class ForkedProcess:
    """A forked child, answering the few questions ``crm run`` asks of a ``subprocess.Popen``."""

    def __init__(self, pid: int, name: str) -> None:
        self.pid = pid
        self.name = name
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.name, timeout or 0.0)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]


@dataclass
class Child:
    """One child of ``crm run``: what it serves, and the process serving it now."""

    name: str
    factory: str  # "module:function" returning the FastAPI app
    port: int
    env: dict[str, str]
    process: ForkedProcess | None = None
    started_at: float = field(default_factory=time.monotonic)
    restart_at: float | None = None
    backoff: float = 1.0

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self._process.pid

    def poll(self) -> int | None:
        """The exit code, or None while the process runs."""
        return self._process.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self._process.wait(timeout)

    @property
    def _process(self) -> ForkedProcess:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process


def preload(children: list[Child]) -> None:
    """Import every child's app module here, once, so that the forks inherit them.

    The heap is then frozen (``gc.freeze``): a child's own ``settle_heap`` otherwise walked
    every module of every service, 0.15 s of CPU in each of nine children starting at once,
    which put the workers' group joins past their 3 s target on a 2-core machine. Frozen
    objects are also left alone by the children's collections, so their pages stay shared.
    """
    for child in children:
        importlib.import_module(child.factory.partition(":")[0])
    gc.collect()
    gc.freeze()


def start(child: Child) -> None:
    """Fork the child's process; in the child, build its app and serve it until it is stopped."""
    if threading.active_count() > 1:
        # A fork copies only the calling thread: a lock another thread held would stay locked forever.
        raise RuntimeError(f"cannot fork {child.name}: crm run has {threading.active_count()} threads")
    sys.stdout.flush()
    sys.stderr.flush()
    parent = os.getpid()
    pid = os.fork()
    if pid:
        child.process = ForkedProcess(pid, child.name)
        child.started_at, child.restart_at = time.monotonic(), None
        return
    code = 1
    try:
        _become_child(child.env, parent)
        code = _serve(child)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the child reports and leaves; nothing may return into the parent
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _become_child(env: dict[str, str], parent: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    # Own process group: Ctrl-C in the terminal reaches only `crm run`, which then stops the
    # children in order instead of all of them racing at once.
    os.setpgid(0, 0)
    _die_with(parent)
    with open(os.devnull, "rb") as devnull:
        os.dup2(devnull.fileno(), 0)
    os.environ.clear()
    os.environ.update(env)


def _die_with(parent: int) -> None:
    """Have the kernel SIGTERM this child if `crm run` itself is killed (-9)."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    if os.getppid() != parent:
        # The parent died before prctl took effect; nobody would ever stop us.
        os._exit(1)


def _serve(child: Child) -> int:
    import uvicorn

    module, _, name = child.factory.partition(":")
    create: Callable[[], FastAPI] = getattr(importlib.import_module(module), name)
    uvicorn.run(create(), host=HOST, port=child.port)
    return 0
