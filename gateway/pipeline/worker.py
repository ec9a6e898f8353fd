"""The module ``dramatiq`` loads in every worker process: ``dramatiq gateway.pipeline.worker``.

Settings are read and checked here, once (:class:`~gateway.pipeline.settings.WorkerSettings`),
so a bad setting stops the worker at start-up with the variable's name. The broker comes
from :func:`gateway.broker.make_broker` (short heartbeat timeout, frequent maintenance: a
SIGKILLed worker's messages return in seconds). ``sfgw worker`` sets
``PROMETHEUS_MULTIPROC_DIR`` before this module is imported, and Dramatiq's Prometheus
middleware serves the merged metrics.
"""

from __future__ import annotations

import logging
import os

import dramatiq

from gateway.broker import make_broker
from gateway.pipeline.assembly import assemble
from gateway.pipeline.logs import hide_message_arguments
from gateway.pipeline.settings import WorkerSettings

settings = WorkerSettings.from_env()
logging.getLogger("sfgw").setLevel(settings.core.log_level)
hide_message_arguments()  # Dramatiq has set up its handlers before importing us

broker = make_broker(settings.core, settings.broker)
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and settings.pipeline.metrics_port:
    from dramatiq.middleware.prometheus import Prometheus

    broker.add_middleware(Prometheus())
dramatiq.set_broker(broker)
actors = assemble(broker, settings)
