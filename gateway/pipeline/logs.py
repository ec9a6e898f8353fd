"""Keep message arguments out of Dramatiq's own log lines.

Dramatiq logs a failing or skipped message as ``actor(args)``: for our jobs that is the
Opportunity's fields and the SessionId ciphertext. The pipeline writes its own structured
line per job (ids only), so Dramatiq's lines need only say which message it was. The
filter sits on the handlers (a logger's filter does not apply to its children's records,
and Dramatiq logs under ``dramatiq.worker.WorkerThread`` and friends).
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.broker import MessageProxy


def describe(message: dramatiq.Message[object] | MessageProxy) -> str:
    """``actor[message id]``: enough to find the message, nothing from its payload."""
    return f"{message.actor_name}[{message.message_id}]"


class HideMessageArguments(logging.Filter):
    """Replaces Dramatiq messages among a record's arguments by :func:`describe`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, dramatiq.Message | MessageProxy) for arg in record.args
        ):
            record.args = tuple(
                describe(arg) if isinstance(arg, dramatiq.Message | MessageProxy) else arg
                for arg in record.args
            )
        return True


def hide_message_arguments(logger: logging.Logger | None = None) -> None:
    """Install the filter on every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, HideMessageArguments) for f in handler.filters):
            handler.addFilter(HideMessageArguments())
