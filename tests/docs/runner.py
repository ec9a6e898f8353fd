"""Running the documented commands as a reader would: the doc's text, in a shell.

A test declares the doc keys it runs with :func:`executes`; the coverage test reads those
declarations, and the decorator fails the test when a declared command was never run,
so the declarations cannot drift from what the tests do.

:meth:`Docs.command` takes a key *exactly as the docs show it* (a key that is no longer
documented fails with a message) and substitutes only what cannot be literal: a port
that another process may hold, a database path or an id that exists only in this run.
Each substitution must occur in the command, so a placeholder that changed in the docs is
noticed. The command then runs under ``bash -c`` with the venv's ``bin`` first on
``PATH`` (so ``sfgw`` is the installed entry point) and without any ``SFGW_*`` variable
of the caller's environment: only what the test passes, as a reader's ``export`` would.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from devstack.processes import ChildProcess, wait_for_http
from tests.docs.extract import REPO, command_keys, snippet

F = TypeVar("F", bound=Callable[..., Any])

#: doc key -> node ids of the tests that run it (filled when the test modules import).
EXECUTED: dict[str, list[str]] = {}


@dataclass
class _Declared:
    test: str
    keys: frozenset[str]
    ran: set[str] = field(default_factory=set)


_current: ContextVar[_Declared | None] = ContextVar("current_doc_test", default=None)


def executes(*keys: str) -> Callable[[F], F]:
    """Mark a test as running these documented commands (checked when it finishes)."""

    def decorate(test: F) -> F:
        module = sys.modules[test.__module__]
        path = Path(module.__file__ or "").resolve().relative_to(REPO)
        node = f"{path.as_posix()}::{test.__name__}"
        for key in keys:
            EXECUTED.setdefault(key, []).append(node)

        @functools.wraps(test)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            declared = _Declared(node, frozenset(keys))
            token = _current.set(declared)
            try:
                result = test(*args, **kwargs)
            finally:
                _current.reset(token)
            never = sorted(declared.keys - declared.ran)
            assert not never, f"{node} declares these doc commands but did not run them: {never}"
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _claim(key: str) -> None:
    declared = _current.get()
    assert declared is not None, "run doc commands only inside an @executes test"
    assert key in command_keys(), (
        f"{key!r} is not in README.md or docs/ any more; update {declared.test}"
    )
    assert key in declared.keys, f"{declared.test}: add {key!r} to its @executes(...)"
    declared.ran.add(key)


def substitute(key: str, subs: Mapping[str, str] | None) -> str:
    line = key
    for placeholder, value in (subs or {}).items():
        assert placeholder in line, f"{placeholder!r} is not in the documented {key!r}"
        line = line.replace(placeholder, value)
    return line


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ``SFGW_*``, the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFGW_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class Result:
    line: str
    code: int
    stdout: str
    stderr: str

    def ok(self) -> str:
        """stdout, after checking the exit code is 0."""
        assert self.code == 0, f"`{self.line}` exited {self.code}:\n{self.stdout}\n{self.stderr}"
        return self.stdout


@dataclass
class Server:
    """A documented long-running command (``sfgw serve`` & co.) in its own process group."""

    line: str
    child: ChildProcess
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.child.pid

    def log(self) -> str:
        return self.child.log_tail(40)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM the process we started (what the docs say stops it; the server stops its
        own children) and return its exit code, after checking that no process of its group
        is left; SIGKILL only as a last resort. Not the whole group: dramatiq takes a second
        SIGTERM (the group's, then its parent's) as "kill now"."""
        if self.exit_code is not None:
            return self.exit_code
        process = self.child.process
        assert process is not None
        try:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=timeout)
            code = process.returncode
            left = _group_alive(process.pid, timeout=10)
        finally:
            self.child.stop()  # SIGKILLs leftovers, closes the log
            self.exit_code = process.returncode if process.returncode is not None else -1
        assert not left, f"`{self.line}` left processes behind after SIGTERM:\n{self.log()}"
        return code


def _group_alive(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)


class Docs:
    """Runs documented commands; one per test session (state lives in the tests)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs

    def command(self, key: str, subs: Mapping[str, str] | None = None) -> str:
        _claim(key)
        return substitute(key, subs)

    def run(
        self,
        key: str,
        subs: Mapping[str, str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        answer: str | None = None,
        timeout: float = 120.0,
    ) -> Result:
        """Run one documented line to completion. ``answer``: typed on a terminal (stdin
        is then a pseudo-terminal, as for a reader at a prompt)."""
        line = self.command(key, subs)
        return self.run_line(line, env=env, cwd=cwd, answer=answer, timeout=timeout)

    def run_line(
        self,
        line: str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        answer: str | None = None,
        timeout: float = 120.0,
    ) -> Result:
        """Run a line built from documented commands (see :meth:`command`)."""
        stdin: int | None = subprocess.DEVNULL
        master = slave = -1
        if answer is not None:
            master, slave = pty.openpty()
            stdin = slave
        try:
            process = subprocess.Popen(
                ["bash", "-c", line],
                env=clean_env(env),
                cwd=cwd,
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            if answer is not None:
                os.close(slave)
                slave = -1
                os.write(master, answer.encode())
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                stdout, stderr = process.communicate()
                raise AssertionError(
                    f"`{line}` did not finish in {timeout:.0f} s:\n{stdout}\n{stderr}"
                ) from None
        finally:
            for fd in (master, slave):
                if fd >= 0:
                    os.close(fd)
        return Result(line, process.returncode, stdout, stderr)

    def start(
        self,
        key: str,
        subs: Mapping[str, str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        ready_url: str,
        timeout: float = 90.0,
    ) -> Server:
        """Start a documented server and wait until ``ready_url`` answers 2xx."""
        line = self.command(key, subs)
        return self.start_line(line, env=env, cwd=cwd, ready_url=ready_url, timeout=timeout)

    def start_line(
        self,
        line: str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        ready_url: str | None,
        timeout: float = 90.0,
    ) -> Server:
        """Start ``line``; wait for ``ready_url`` unless it is None (the caller then waits
        for the server's work)."""
        name = line.split(" --", 1)[0]
        log = self.logs / f"{name.replace(' ', '-')}-{time.monotonic_ns()}.log"
        child = ChildProcess(name, ["bash", "-c", line], clean_env(env), log, cwd).start()
        server = Server(line, child)
        if ready_url is None:
            return server
        try:
            wait_for_http(child, ready_url, timeout=timeout)
        except BaseException:
            server.stop()
            raise
        return server

    def exports(self, lines: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
        """What a block of documented ``export NAME=value`` lines sets (key -> its subs)."""
        env: dict[str, str] = {}
        for key, subs in lines.items():
            line = self.command(key, subs)
            assert line.startswith("export "), line
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
        return env

    def python(self, key: str) -> str:
        """The documented python snippet's code."""
        _claim(key)
        return snippet(key)


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Stop the server however the block ends (its exit code is checked by the test)."""
    try:
        yield server
    finally:
        server.stop()


def wait_until(check: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            described = what if isinstance(what, str) else what()
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {described}")
        time.sleep(0.2)
