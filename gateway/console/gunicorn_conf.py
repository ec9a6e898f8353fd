"""gunicorn configuration for ``sfgw console`` (``-c python:gateway.console.gunicorn_conf``).

One process with a few threads (gthread): the console serves a handful of operators,
and its browsers keep connections open and poll, which a sync worker would serialise.
It runs on its own listener, never the intake's.
"""

from __future__ import annotations

import os
from pathlib import Path

bind = [os.environ.get("SFGW_CONSOLE_BIND", "127.0.0.1:8080")]
workers = 1
worker_class = "gthread"
threads = 4
timeout = 60
graceful_timeout = 5
keepalive = 5
accesslog = None
errorlog = "-"
proc_name = "sfgw-console"
control_socket_disable = True
if Path("/dev/shm").is_dir():  # noqa: S108 - RAM-backed heartbeat files, as gunicorn advises
    worker_tmp_dir = "/dev/shm"  # noqa: S108
