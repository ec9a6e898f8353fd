"""``sfgw console`` beside a running stack, for the browser tests and the screenshots.

The console is a process of its own (as in production): started here with the stack's
Redis, key prefix and the workers' metrics URL, on a free loopback port, and ready once
``/healthz`` answers. Not a part of :class:`devstack.stack.Stack`: few users need it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.parts import StackParts
from devstack.processes import ChildProcess, free_port, wait_for_http


@dataclass
class RunningConsole:
    url: str
    child: ChildProcess
    log_path: Path

    def stop(self) -> None:
        self.child.stop()


def console_env(stack: StackParts) -> dict[str, str]:
    """What a console of ``stack`` needs: its Redis, key prefix and workers' metrics."""
    env = stack.core_env()
    if stack.workers is not None:
        env["SFGW_CONSOLE_WORKER_METRICS_URL"] = stack.workers.metrics_url
    return env


def start_console(
    workdir: Path,
    *,
    env: Mapping[str, str],
    host: str = "127.0.0.1",
    timeout: float = 60.0,
) -> RunningConsole:
    """``sfgw console`` with ``env`` (:func:`console_env`, plus e.g.
    SFGW_CONSOLE_READ_ONLY) over the caller's environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(host)
    child_env = {**os.environ, **env}
    log_path = workdir / f"console-{port}.log"
    child = ChildProcess(
        name=f"console :{port}",
        argv=[sys.executable, "-m", "gateway.cli", "console", "--bind", f"{host}:{port}"],
        env=child_env,
        log_path=log_path,
    ).start()
    url = f"http://{host}:{port}"
    try:
        wait_for_http(child, f"{url}/healthz", timeout=timeout)
    except BaseException:
        child.stop()
        raise
    return RunningConsole(url=url, child=child, log_path=log_path)
