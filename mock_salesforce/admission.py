"""Whether one API call may run: the session, injected call errors, the daily limit and
the injected 503, decided once for REST and SOAP alike.

The order is Salesforce's as a caller sees it: an unknown or expired session is refused
before anything is counted; then an injected ``call_errors`` code (if one is left)
answers in place of the call; then the call is counted against the daily limit (over
it: refused, not counted); then ``unavailable_probability`` may answer 503. Each refusal
bumps its counter (``GET /admin/usage`` ``fired``), so a fault test can prove it fired.
"""

from __future__ import annotations

from mock_salesforce.faults import (
    CALL_ERRORS,
    INVALID_SESSION,
    LIMIT_EXCEEDED,
    UNAVAILABLE,
    CallError,
)
from mock_salesforce.org import Org


def admit(org: Org, session: str | None) -> CallError | None:
    """None when the call may run; otherwise the refusal to answer with."""
    store = org.store
    if not session or not store.touch_session(session, org.settings.session_ttl):
        return _refuse(org, INVALID_SESSION)
    injected = store.pop_call_error()
    if injected is not None:
        error = CALL_ERRORS[injected]
        if error.counted:
            store.count_call(None)
        return _refuse(org, error)
    allowed, _ = store.count_call(org.api_limit())
    if not allowed:
        return _refuse(org, LIMIT_EXCEEDED)
    if org.rng.random() < float(store.faults().get("unavailable_probability") or 0):
        return _refuse(org, UNAVAILABLE)
    return None


def _refuse(org: Org, error: CallError) -> CallError:
    org.store.bump(error.fired)
    return error
