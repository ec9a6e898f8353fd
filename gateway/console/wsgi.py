"""The WSGI entry point gunicorn loads: ``gateway.console.wsgi:build()``.

Built in each worker (no preload), so every worker opens its own Redis connections.
"""

from __future__ import annotations

import logging
import os

import falcon

from gateway.console.app import create_app
from gateway.console.settings import ConsoleSettings


def build() -> falcon.App[falcon.Request, falcon.Response]:
    settings = ConsoleSettings.from_env(bind=os.environ.get("SFGW_CONSOLE_BIND"))
    logging.basicConfig(
        level=settings.core.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return create_app(settings)
