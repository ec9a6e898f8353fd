"""Run ``sfgw demo`` as a real subprocess and keep track of every process it starts.

The demo's children run in their own sessions (so a terminal's Ctrl-C reaches only the
demo, which then stops them in order); they are still its descendants, so sampling
``psutil`` while the demo runs finds all of them and the ports they listen on. After the
demo exits, none of those processes may be alive and none of those ports may listen.
The machine is shared, so the check is about what THIS demo started, not a global diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class DemoRun:
    """A running ``sfgw demo`` whose output and descendants are being collected."""

    argv: list[str]
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    #: pid -> (create_time, command line) of every descendant seen.
    seen: dict[int, tuple[float, str]] = field(default_factory=dict)
    #: listening ports of those descendants.
    ports: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.process.poll() is not None:
                return text in self.output
            time.sleep(0.1)
        return False

    def child_running(self, command_part: str) -> int:
        """The pid of the demo's direct child whose command line contains ``command_part``."""
        for child in psutil.Process(self.process.pid).children():
            if command_part in " ".join(child.cmdline()):
                return child.pid
        raise LookupError(f"no child of the demo runs {command_part!r}: {self.seen}")

    def wait_for_ports(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.ports) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.ports) >= count

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
            raise

    def survivors(self) -> list[str]:
        """Descendants that are still alive (same pid AND same start time)."""
        alive = []
        for pid, (created, cmdline) in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{pid}: {cmdline}")
            except psutil.NoSuchProcess:
                continue
        return alive

    def still_listening(self) -> set[int]:
        listening = {
            c.laddr.port
            for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.laddr
        }
        return self.ports & listening

    def kill_survivors(self) -> None:
        """Last resort so a failing test does not leave processes on a shared machine."""
        for pid, (created, _) in self.seen.items():
            try:
                proc = psutil.Process(pid)
                if proc.create_time() == created:
                    proc.kill()
            except psutil.NoSuchProcess:
                continue


def start_demo(*args: str, workdir: Path, redis_url: str | None = None) -> DemoRun:
    env = dict(os.environ)
    env.pop("SFGW_REDIS_URL", None)
    redis_url = redis_url or os.environ.get("SFGW_TEST_REDIS_URL")
    if redis_url:
        # A Redis we do not own: the demo then uses a unique key prefix and never flushes.
        env["SFGW_REDIS_URL"] = redis_url
    argv = [sys.executable, "-m", "gateway.cli", "demo", "--workdir", str(workdir), *args]
    return watch_demo(argv, env)


def watch_demo(argv: list[str], env: dict[str, str]) -> DemoRun:
    """Start ``argv`` (a demo, however it is spelled) in the checkout and watch it."""
    process = subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    run = DemoRun(argv=argv, process=process)
    threading.Thread(target=_read_output, args=(run,), daemon=True).start()
    threading.Thread(target=_watch_descendants, args=(run,), daemon=True).start()
    return run


def _read_output(run: DemoRun) -> None:
    assert run.process.stdout is not None
    for line in run.process.stdout:
        with run._lock:
            run.lines.append(line)


def _watch_descendants(run: DemoRun) -> None:
    try:
        parent = psutil.Process(run.process.pid)
    except psutil.NoSuchProcess:
        return
    while run.process.poll() is None:
        try:
            children = parent.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        for child in children:
            try:
                run.seen.setdefault(child.pid, (child.create_time(), " ".join(child.cmdline())))
                for conn in child.net_connections(kind="inet"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr:
                        run.ports.add(conn.laddr.port)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        time.sleep(0.2)
