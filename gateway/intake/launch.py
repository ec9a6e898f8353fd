"""Start the gateway as a real gunicorn process (tests, demo, benchmarks).

``start_gateway`` runs ``sfgw serve`` on a free loopback port in its own process group,
waits until it answers and hands back its URL and the :class:`ChildProcess`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.processes import ChildProcess, free_port, wait_for_http, wait_for_port


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
) -> RunningGateway:
    """Run the gateway against ``redis_url`` under ``redis_prefix``.

    Unless ``env`` says otherwise it accepts any org (``SFGW_ALLOWED_ORGS=*``) and
    keeps its metrics files under ``workdir``. With ``SFGW_TLS_CERT`` in ``env`` the URL
    is ``https://`` and readiness is checked on the port only (the caller holds the CA).
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
    argv = [sys.executable, "-m", "gateway.cli", "serve"]
    argv += ["--bind", f"{host}:{port}", "--workers", str(workers)]
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
