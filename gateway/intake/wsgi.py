"""The WSGI entry point gunicorn loads in each worker: ``gateway.intake.wsgi:build()``.

Built per worker (no preload) so that every worker opens its own Redis connections and
prometheus_client picks up multiprocess mode from the environment the gunicorn config set.
"""

from __future__ import annotations

import gc

import falcon

from gateway.intake.app import create_app
from gateway.intake.logs import configure_logging
from gateway.intake.settings import IntakeSettings


def build() -> falcon.App[falcon.Request, falcon.Response]:
    settings = IntakeSettings.from_env()
    configure_logging(settings.core.log_level)
    app = create_app(settings)
    # Everything alive now (modules, generated classes, binding plans: ~50,000 objects)
    # lives as long as the worker. Freezing it keeps the cyclic GC from re-scanning it in
    # every full collection; a 100-notification message allocates enough to trigger
    # them (about 3 % of its CPU). Startup garbage is collected first.
    gc.collect()
    gc.freeze()
    return app
