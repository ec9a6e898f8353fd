"""Dramatiq's own log lines name the message, never its arguments."""

from __future__ import annotations

import io
import logging

import dramatiq

from gateway.pipeline.logs import hide_message_arguments


def test_dramatiq_lines_carry_no_arguments() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.hide-args")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(stream))
    hide_message_arguments(logger)
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name="orders",
        actor_name="process_notification",
        args=({"fields": {"Name": "Secret deal"}, "session_id_encrypted": "gAAAAB-cipher"},),
        kwargs={},
        options={},
        message_id="m-1",
    )
    logger.error("Failed to process message %s with unhandled exception.", message)
    logger.error("plain %s", "text")
    text = stream.getvalue()
    assert "process_notification[m-1]" in text
    assert "Secret deal" not in text and "gAAAAB" not in text
    assert "plain text" in text
