"""gunicorn configuration for ``sfgw serve`` (``-c python:gateway.intake.gunicorn_conf``).

Sync workers: parsing and binding XML is CPU-bound, so throughput comes from processes,
and sync workers had the best throughput and tail latency on the 2-core reference host
(measured against gthread and gevent workers). Sync workers are tied up by slow uploads:
expose the gateway through a buffering reverse proxy, or rely on ``timeout`` to reap
stuck workers.

TLS comes from the settings: ``SFGW_TLS_CERT``/``SFGW_TLS_KEY`` serve HTTPS, and
``SFGW_TLS_CLIENT_CA`` additionally requires a client certificate signed by that CA
(Salesforce presents its API client certificate with every outbound message).
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from pathlib import Path
from typing import Any

from gateway.intake.settings import IntakeSettings

_settings = IntakeSettings.from_env()

bind = [os.environ.get("SFGW_BIND", "127.0.0.1:8000")]
workers = _settings.workers
worker_class = "sync"
timeout = _settings.timeout_s
graceful_timeout = 10
keepalive = 2
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
loglevel = _settings.core.log_level.lower()
proc_name = "sfgw-intake"
# gunicorn >= 24 opens a control socket at one fixed path per user; several gateways on
# one host (tests, benchmarks) would fight over it, and nothing here uses it.
control_socket_disable = True
if Path("/dev/shm").is_dir():  # noqa: S108 - RAM-backed heartbeat files, as gunicorn advises
    worker_tmp_dir = "/dev/shm"  # noqa: S108

if _settings.tls_cert is not None and _settings.tls_key is not None:
    certfile = str(_settings.tls_cert)
    keyfile = str(_settings.tls_key)
    if _settings.tls_client_ca is not None:
        ca_certs = str(_settings.tls_client_ca)
        cert_reqs = ssl.CERT_REQUIRED

# prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is first imported, which
# happens in the workers after this module ran in the master: set it here, fresh.
_own_metrics_dir = _settings.metrics_dir is None
_metrics_dir = _settings.metrics_dir or Path(tempfile.mkdtemp(prefix="sfgw-metrics-"))
_metrics_dir.mkdir(parents=True, exist_ok=True)
for _stale in _metrics_dir.glob("*.db"):
    _stale.unlink()
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    if _own_metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
