"""The module ``dramatiq`` loads in every worker process: ``dramatiq gateway.pipeline.worker``.

Settings are read and checked at import, so a bad setting stops the worker at start-up
with the variable's name. The broker comes from :func:`gateway.broker.make_broker`
(short heartbeat timeout, frequent maintenance: a SIGKILLed worker's messages return in
seconds). ``sfgw worker`` sets ``PROMETHEUS_MULTIPROC_DIR`` before this module is
imported, and Dramatiq's Prometheus middleware serves the merged metrics.
"""

from __future__ import annotations

import logging
import os

import dramatiq

from gateway.broker import make_broker
from gateway.pipeline.logs import hide_message_arguments
from gateway.pipeline.reconcile import install_reconcile_loop
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.wiring import setup_pipeline
from gateway.settings import CoreSettings

core = CoreSettings.from_env()
settings = PipelineSettings.from_env()
logging.getLogger("sfgw").setLevel(core.log_level)
hide_message_arguments()  # Dramatiq has set up its handlers before importing us

broker = make_broker(core)
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and settings.metrics_port:
    from dramatiq.middleware.prometheus import Prometheus

    broker.add_middleware(Prometheus())
dramatiq.set_broker(broker)
actors, pipeline = setup_pipeline(broker, core, settings)
install_reconcile_loop(broker, settings, core)  # issue 8: periodic sweep, off by default
