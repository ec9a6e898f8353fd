"""How Salesforce decides what to send and whether a send worked (pure functions).

Salesforce's delivery rules (reference §2.2/§2.3): up to 100 notifications per SOAP
message; only HTTP 200 with a SOAP envelope whose ``notificationsResponse/Ack`` is true
counts as delivered; everything else is a failure retried with an interval that grows
exponentially from about 15 s up to a 2-hour maximum; messages are dropped 24 h after
they were queued. All durations here are *nominal* (Salesforce's clock); the sender
divides them by the time scale.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.namespaces import OUTBOUND_MESSAGE, SOAP11_ENVELOPE
from gateway.soap import SoapParseError, parse_envelope

FIRST_RETRY = 15.0
MAX_RETRY_GAP = 2 * 3600.0
RETENTION = 24 * 3600.0
ATTEMPT_TIMEOUT = 60.0
MAX_NOTIFICATIONS = 100

T = TypeVar("T")


def retry_delay(failed_attempts: int) -> float:
    """Nominal seconds before the next attempt after ``failed_attempts`` failures.

    15 s, 30 s, 1 min, 2 min, ... doubling until the 2-hour cap: the "exponential up to
    2 hours" of the API guide, starting at the 15 s the Integration Patterns guide gives.
    """
    if failed_attempts < 1:
        return 0.0
    return min(FIRST_RETRY * 2.0 ** (failed_attempts - 1), MAX_RETRY_GAP)


@dataclass(frozen=True)
class Verdict:
    delivered: bool
    reason: str = ""


def judge_reply(status: int, reason_phrase: str, body: bytes) -> Verdict:  # noqa: PLR0911 - one return per Salesforce outcome
    """Judge an HTTP reply as Salesforce does, with Salesforce-like failure reasons."""
    fault = _fault_string(body)
    if status != 200:
        if fault is not None:
            return Verdict(False, fault)
        return Verdict(False, f"({status}){reason_phrase}")
    if not body.strip():
        return Verdict(False, "org.xml.sax.SAXParseException; Premature end of file.")
    if not body.lstrip().startswith(b"<"):
        return Verdict(False, "org.xml.sax.SAXParseException; Content is not allowed in prolog.")
    if fault is not None:
        return Verdict(False, fault)
    try:
        envelope = parse_envelope(body)
    except SoapParseError as error:
        return Verdict(False, f"org.xml.sax.SAXParseException; {error}")
    payload = envelope.payload
    if payload.tag != f"{{{OUTBOUND_MESSAGE}}}notificationsResponse":
        return Verdict(False, f"Unexpected element {payload.tag} in SOAP response")
    ack = payload.find(f"{{{OUTBOUND_MESSAGE}}}Ack")
    if ack is not None and (ack.text or "").strip() in ("true", "1"):
        return Verdict(True)
    return Verdict(False, "SOAP response was a nack")


def _fault_string(body: bytes) -> str | None:
    try:
        envelope = parse_envelope(body)
    except (SoapParseError, ValueError):
        return None
    if envelope.payload.tag != f"{{{SOAP11_ENVELOPE}}}Fault":
        return None
    node = envelope.payload.find("faultstring")
    code = envelope.payload.find("faultcode")
    text = (node.text or "").strip() if node is not None else ""
    code_text = (code.text or "").strip() if code is not None else ""
    return f"{code_text}: {text}" if code_text else text or "SOAP fault"


def connection_failure(error: BaseException) -> str:
    """The reason Salesforce records when no HTTP reply came back."""
    text = str(error).lower()
    if "timed out" in text or "timeout" in type(error).__name__.lower():
        return "java.net.SocketTimeoutException: Read timed out"
    if "refused" in text:
        return "java.net.ConnectException: Connection refused"
    return f"java.io.IOException: {type(error).__name__}"


def plan_batches(
    items: Sequence[T], *, split_probability: float = 0.0, rng: random.Random | None = None
) -> list[list[T]]:
    """Chunks of at most 100, in order; with ``split_probability`` a chunk is cut in two."""
    rng = rng or random.Random()
    batches: list[list[T]] = []
    for start in range(0, len(items), MAX_NOTIFICATIONS):
        chunk = list(items[start : start + MAX_NOTIFICATIONS])
        if len(chunk) > 1 and rng.random() < split_probability:
            cut = rng.randint(1, len(chunk) - 1)
            batches.extend([chunk[:cut], chunk[cut:]])
        else:
            batches.append(chunk)
    return batches
