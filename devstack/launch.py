"""Start the product's own processes for tests, the demo and the benchmarks.

``start_gateway`` runs ``sfgw serve`` (or gunicorn with another WSGI app under the
gateway's gunicorn settings) and ``start_workers`` runs ``sfgw worker``, each on free
loopback ports in its own process group, and waits until it is ready: the gateway answers
``/healthz``, every worker process heartbeats in Redis.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devstack.processes import ChildProcess, StartupError, free_port, wait_for_http, wait_for_port
from gateway.broker import QueueReader
from gateway.redis_connection import connect
from gateway.settings import CoreSettings

#: What the launchers set themselves (the caller's environment cannot change them).
LAUNCHER_VARIABLES = frozenset(
    {
        "SFGW_REDIS_URL",
        "SFGW_REDIS_PREFIX",
        "SFGW_METRICS_DIR",
        "SFGW_WORKER_PROCESSES",
        "SFGW_WORKER_THREADS",
        "SFGW_WORKER_METRICS_PORT",
        "SFGW_WORKER_METRICS_DIR",
    }
)


@dataclass
class RunningGateway:
    url: str
    child: ChildProcess
    log_path: Path

    def outbound_url(self, contract: str) -> str:
        return f"{self.url}/salesforce/outbound/{contract}"

    def stop(self) -> None:
        self.child.stop()


def start_gateway(
    workdir: Path,
    *,
    redis_url: str,
    redis_prefix: str,
    env: Mapping[str, str] | None = None,
    workers: int = 2,
    host: str = "127.0.0.1",
    timeout: float = 60.0,
    app: str | None = None,
) -> RunningGateway:
    """Run the gateway against ``redis_url`` under ``redis_prefix``.

    Unless ``env`` says otherwise it accepts any org (``SFGW_ALLOWED_ORGS=*``) and
    keeps its metrics files under ``workdir``. With ``SFGW_TLS_CERT`` in ``env`` the URL
    is ``https://`` and readiness is checked on the port only (the caller holds the CA).
    ``app``: a gunicorn app spec (``module:build()``) to serve instead of the product's,
    with the product's gunicorn settings -- how the tests run a gateway with a planted bug.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port(host)
    child_env = dict(os.environ)
    child_env.update(
        {
            "SFGW_REDIS_URL": redis_url,
            "SFGW_REDIS_PREFIX": redis_prefix,
            "SFGW_ALLOWED_ORGS": "*",
            "SFGW_METRICS_DIR": str(workdir / "metrics"),
        }
    )
    child_env.update(env or {})
    tls = bool(child_env.get("SFGW_TLS_CERT"))
    if app is None:
        argv = [sys.executable, "-m", "gateway.cli", "serve"]
        argv += ["--bind", f"{host}:{port}", "--workers", str(workers)]
    else:
        child_env.update({"SFGW_BIND": f"{host}:{port}", "SFGW_WORKERS": str(workers)})
        argv = [sys.executable, "-m", "gunicorn", "-c", "python:gateway.intake.gunicorn_conf", app]
    log_path = workdir / f"gateway-{port}.log"
    child = ChildProcess(
        name=f"gateway :{port}", argv=argv, env=child_env, log_path=log_path
    ).start()
    url = f"{'https' if tls else 'http'}://{host}:{port}"
    try:
        if tls:
            wait_for_port(child, host, port, timeout=timeout)
        else:
            wait_for_http(child, f"{url}/healthz", timeout=timeout)
    except BaseException:
        child.stop()
        raise
    return RunningGateway(url=url, child=child, log_path=log_path)


@dataclass
class RunningWorkers:
    child: ChildProcess
    metrics_url: str
    processes: int

    @property
    def exit_code(self) -> int | None:
        """The group leader's exit status (``-9`` after :meth:`kill`); None while it runs."""
        return None if self.child.process is None else self.child.process.poll()

    @property
    def log_path(self) -> Path | None:
        return self.child.log_path

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
    core = CoreSettings.from_env({**child_env, "SFGW_REDIS_URL": redis_url})
    client = connect(core.require_redis(), timeout_s=10)
    queues = QueueReader(client, core)
    # Only new broker ids count: a group that is still stopping (a restart overlaps the
    # old group's shutdown with the new one's start-up) heartbeats too.
    try:
        earlier = queues.live_brokers(0)
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
            if len(queues.live_brokers(started_ms) - earlier) >= processes:
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
