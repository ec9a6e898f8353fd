"""Start the pipeline's workers as a real ``sfgw worker`` child process (tests, demo, bench)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import redis

from gateway.processes import ChildProcess, StartupError, free_port


@dataclass
class RunningWorkers:
    child: ChildProcess
    metrics_url: str
    processes: int

    def stop(self) -> None:
        self.child.stop(timeout=30)

    def kill(self) -> None:
        """SIGKILL the whole worker group (crash simulation)."""
        self.child.kill()


def start_workers(
    workdir: Path,
    *,
    redis_url: str,
    redis_prefix: str,
    env: Mapping[str, str] | None = None,
    processes: int = 1,
    threads: int = 4,
    timeout: float = 60.0,
) -> RunningWorkers:
    """Run ``sfgw worker`` and wait until every worker process has talked to Redis."""
    port = free_port()
    child_env = dict(os.environ)
    child_env.update(env or {})
    child_env.update(
        {
            "SFGW_REDIS_URL": redis_url,
            "SFGW_REDIS_PREFIX": redis_prefix,
            "SFGW_WORKER_PROCESSES": str(processes),
            "SFGW_WORKER_THREADS": str(threads),
            "SFGW_WORKER_METRICS_PORT": str(port),
            "SFGW_WORKER_METRICS_DIR": str(workdir / "prometheus"),
        }
    )
    heartbeats = f"{redis_prefix}:dramatiq:__heartbeats__"
    client = redis.Redis.from_url(redis_url)
    # Only new broker ids count: a group that is still stopping (a restart overlaps the
    # old group's shutdown with the new one's start-up) heartbeats too.
    try:
        earlier = set(client.zrange(heartbeats, 0, -1))
    except BaseException:
        client.close()
        raise
    started_ms = int(time.time() * 1000)
    child = ChildProcess(
        name="sfgw worker",
        argv=[sys.executable, "-m", "gateway.cli", "worker"],
        env=child_env,
        log_path=workdir / "worker.log",
        cwd=workdir,
    ).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            if not child.running():
                raise StartupError(f"sfgw worker exited during start-up:\n{child.log_tail()}")
            recent = client.zrangebyscore(heartbeats, started_ms, "+inf")
            if len(set(recent) - earlier) >= processes:
                break
            if time.monotonic() > deadline:
                child.stop()
                raise StartupError(
                    f"sfgw worker not ready within {timeout:.0f}s:\n{child.log_tail()}"
                )
            time.sleep(0.1)
    finally:
        client.close()
    return RunningWorkers(
        child=child, metrics_url=f"http://127.0.0.1:{port}/metrics", processes=processes
    )
