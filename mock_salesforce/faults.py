"""The org's injected faults as data: the document's fields, their checks, the call-level
errors it can inject, and the chaos probabilities in effect (pure functions).

The document lives in the database (:mod:`mock_salesforce.store.faults`), so a change
through ``PUT /admin/faults`` reaches every gunicorn worker and the sender at once, on a
running org. Two kinds of field:

* **standing** faults hold until they are changed (``lock_probability``,
  ``validation_fail_ids``, ``daily_api_limit``, the ``chaos_*`` probabilities, ...);
* **counted** faults are used up as they fire (``lock_ids``: the next *n* saves of a
  record; ``call_errors``: one code per call), so a test can script exactly which calls
  fail and then prove, from the org's own counters, that they did.

``None`` means "the start-up setting" for ``daily_api_limit`` and the ``chaos_*`` fields
(``SFGW_MOCKSF_DAILY_API_LIMIT``, ``SFGW_MOCKSF_CHAOS_*``); ``0`` is a value like any
other (a daily limit of 0 allows no call at all).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway import sfid

DEFAULT_FAULTS: dict[str, Any] = {
    "lock_probability": 0.0,
    "lock_first_attempt": False,
    "lock_ids": {},
    "unavailable_probability": 0.0,
    "validation_fail_ids": [],
    "daily_api_limit": None,
    "call_errors": [],
    "issue_expired_tokens": False,
    "chaos_redeliver": None,
    "chaos_reorder": None,
    "chaos_split": None,
}

#: What the org counts when an injected or natural fault fires (``GET /admin/usage``
#: ``fired``): see docs/mock-salesforce.md for when each one moves.
FIRED_KINDS = (
    "invalid_session",
    "limit_exceeded",
    "unavailable",
    "lock_error",
    "validation_error",
    "chaos_redeliver",
    "chaos_reorder",
    "chaos_split",
)


@dataclass(frozen=True)
class CallError:
    """A whole call refused: its REST status, SOAP HTTP status, message and counter."""

    code: str
    rest_status: int
    soap_status: int
    message: str
    fired: str
    #: counted as an API request (Salesforce does not count a refused session or a call
    #: over the limit; a 503 of an overloaded server is counted, as the random one is)
    counted: bool


INVALID_SESSION = CallError(
    "INVALID_SESSION_ID", 401, 500, "Session expired or invalid", "invalid_session", False
)
LIMIT_EXCEEDED = CallError(
    "REQUEST_LIMIT_EXCEEDED", 403, 500, "TotalRequests Limit exceeded.", "limit_exceeded", False
)
UNAVAILABLE = CallError(
    "SERVER_UNAVAILABLE",
    503,
    503,
    "Server is temporarily unavailable, try again later.",
    "unavailable",
    True,
)
CALL_ERRORS = {error.code: error for error in (INVALID_SESSION, LIMIT_EXCEEDED, UNAVAILABLE)}


def check_faults(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` checked and normalised (record ids to 18 characters); raises
    ValueError naming the field. Only the fields given are returned."""
    unknown = set(values) - set(DEFAULT_FAULTS)
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("lock_probability", "unavailable_probability"):
            checked[name] = _probability(name, value)
        elif name.startswith("chaos_"):
            checked[name] = None if value is None else _probability(name, value)
        elif name in ("lock_first_attempt", "issue_expired_tokens"):
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false")
            checked[name] = value
        elif name == "daily_api_limit":
            checked[name] = None if value is None else _count(name, value)
        elif name == "validation_fail_ids":
            if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
                raise ValueError("validation_fail_ids must be a list of record ids")
            checked[name] = list(value)
        elif name == "lock_ids":
            checked[name] = _lock_ids(value)
        else:  # call_errors
            checked[name] = _call_errors(value)
    return checked


def _probability(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a number from 0 to 1")
    if not 0 <= value <= 1:
        raise ValueError(f"{name}={value} must be from 0 to 1")
    return float(value)


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number from 0 (or null: no override)")
    return value


def _lock_ids(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValueError("lock_ids must be an object {record id: number of saves to refuse}")
    locks: dict[str, int] = {}
    for raw, count in value.items():
        try:
            oid = sfid.to18(str(raw))
        except sfid.InvalidSalesforceId:
            raise ValueError(f"lock_ids: {raw!r} is not a record id") from None
        if _count(f"lock_ids[{raw}]", count):
            locks[oid] = count
    return locks


def _call_errors(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(code in CALL_ERRORS for code in value):
        raise ValueError(f"call_errors must be a list of codes from {', '.join(CALL_ERRORS)}")
    return list(value)


@dataclass(frozen=True)
class Chaos:
    """The probabilities the sender uses now."""

    redeliver: float
    reorder: float
    split: float


def chaos(faults: Mapping[str, Any], redeliver: float, reorder: float, split: float) -> Chaos:
    """The document's ``chaos_*`` values, or the start-up ones where it has none."""

    def pick(name: str, start_up: float) -> float:
        value = faults.get(name)
        return start_up if value is None else float(value)

    return Chaos(
        redeliver=pick("chaos_redeliver", redeliver),
        reorder=pick("chaos_reorder", reorder),
        split=pick("chaos_split", split),
    )


def api_limit(faults: Mapping[str, Any], start_up: int) -> int:
    """The daily API limit in effect: the document's override (0 included) or start-up's."""
    override = faults.get("daily_api_limit")
    return start_up if override is None else int(override)
