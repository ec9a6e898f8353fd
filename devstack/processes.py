"""Running our own servers as child processes: free ports, readiness, clean shutdown.

Used by ``sfgw demo``, the benchmarks and the integration tests. Children run in their
own process group so that stopping one also stops whatever it forked (gunicorn and
dramatiq both fork workers), and nothing is left listening afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class StartupError(RuntimeError):
    """A child process did not become ready; the message says which and shows its log tail."""


@dataclass
class ChildProcess:
    """One child process, started in its own session (process group)."""

    name: str
    argv: Sequence[str]
    # Not in repr: the environment carries secrets (SFGW_SECRET_KEY, client secrets).
    env: Mapping[str, str] | None = field(default=None, repr=False)
    log_path: Path | None = None
    cwd: Path | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> ChildProcess:
        stdout: int | IO[bytes] = subprocess.DEVNULL
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
            stdout = self._log
        self.process = subprocess.Popen(
            list(self.argv),
            env=None if self.env is None else dict(self.env),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was not started")
        return self.process.pid

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def signal_group(self, signum: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole group, wait, then SIGKILL whatever is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.process.wait(timeout=timeout)
        # Workers forked by the leader may outlive it for a moment; make sure none stay.
        self.signal_group(signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL the whole group at once (crash simulation)."""
        self.signal_group(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)


def wait_for_port(child: ChildProcess, host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise StartupError(f"{child.name} exited during start-up:\n{child.log_tail()}")
        if port_is_open(host, port):
            return
        time.sleep(0.05)
    raise StartupError(f"{child.name} did not listen on {host}:{port} within {timeout:.0f}s")


def wait_for_http(child: ChildProcess, url: str, timeout: float = 30.0) -> None:
    """Wait until ``url`` answers 2xx."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not child.running():
            raise StartupError(f"{child.name} exited during start-up:\n{child.log_tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
                if 200 <= response.status < 300:
                    return
                last = f"HTTP {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.1)
    raise StartupError(f"{child.name} not ready at {url} within {timeout:.0f}s ({last})")
