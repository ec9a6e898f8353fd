"""One JSON line per request, scrubbed of secrets.

Every record passes through :func:`gateway.secrets.redact` before it is written, so even
an exception message that quoted a SessionId or a bearer token leaves no secret in the
log. The intake code itself never puts the SessionId into a log record.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from gateway.secrets import redact

ACCESS_LOGGER = "sfgw.intake.access"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, default=str))


def configure_logging(level: str) -> None:
    """JSON lines on stderr for everything under ``sfgw``; idempotent."""
    logger = logging.getLogger("sfgw")
    logger.setLevel(level)
    if not any(getattr(h, "_sfgw", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._sfgw = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.propagate = False
