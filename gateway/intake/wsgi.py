"""The WSGI entry point gunicorn loads in each worker: ``gateway.intake.wsgi:build()``.

Built per worker (no preload) so that every worker opens its own Redis connections and
prometheus_client picks up multiprocess mode from the environment the gunicorn config set.
"""

from __future__ import annotations

import falcon

from gateway.intake.app import create_app
from gateway.intake.logs import configure_logging
from gateway.intake.settings import IntakeSettings


def build() -> falcon.App[falcon.Request, falcon.Response]:
    settings = IntakeSettings.from_env()
    configure_logging(settings.core.log_level)
    return create_app(settings)
