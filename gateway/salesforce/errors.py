"""What can go wrong when calling Salesforce, and which status codes are worth a retry.

Two levels, as in Salesforce's own APIs: a *call* fails as a whole (HTTP 401/403/5xx,
a SOAP fault, a timeout) and raises :class:`SalesforceError`; inside a successful call
each *record* has its own SaveResult, turned into a :class:`RecordOutcome`. The code
tables are plain data so the pipeline's policy and the tests can read them.

Messages never carry a token: every text that came back from Salesforce passes through
:func:`gateway.secrets.redact` before it is put into an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gateway.secrets import redact

#: The session or token is no longer valid: refresh once, then retry the call.
SESSION_CODES = frozenset({"INVALID_SESSION_ID"})
#: The org is out of API allowance or concurrency: back off for a long time.
LIMIT_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})
#: Transient on Salesforce's side: retry with backoff (record locks with jitter).
RETRYABLE_CODES = frozenset(
    {
        "UNABLE_TO_LOCK_ROW",
        "SERVER_UNAVAILABLE",
        "UNKNOWN_EXCEPTION",
        "REQUEST_RUNNING_TOO_LONG",
        "QUERY_TIMEOUT",
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "TIMEOUT",
        "CONNECTION",
    }
)
# Everything else (MALFORMED_ID, ENTITY_IS_DELETED, FIELD_CUSTOM_VALIDATION_EXCEPTION,
# INVALID_FIELD, INSUFFICIENT_ACCESS_OR_READONLY, STRING_TOO_LONG, NOT_FOUND, ...) is
# permanent: repeating the same request gives the same answer.

Kind = Literal["success", "retry", "limit", "session", "permanent"]


def kind_of(code: str, status: int | None = None) -> Kind:
    """How a Salesforce error code (or, lacking one, an HTTP status) should be treated."""
    if code in SESSION_CODES:
        return "session"
    if code in LIMIT_CODES:
        return "limit"
    if code in RETRYABLE_CODES:
        return "retry"
    if status is not None and (status >= 500 or status in (408, 429)):
        return "retry"
    return "permanent"


class SalesforceError(Exception):
    """A call to Salesforce failed as a whole."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        self.code = code
        self.message = redact(message)[:500]
        self.status = status
        super().__init__(f"{code}: {self.message}" + (f" (HTTP {status})" if status else ""))

    @property
    def kind(self) -> Kind:
        return kind_of(self.code, self.status)


class SalesforceAuthError(SalesforceError):
    """The token endpoint refused to issue a token (bad client id/secret, key, user)."""

    @property
    def kind(self) -> Kind:
        # A configuration problem that an operator fixes once for all jobs: keep retrying
        # with the long backoff rather than dead-lettering every job in the meantime.
        return "limit" if self.status is None or self.status < 500 else "retry"


class HostNotAllowed(SalesforceError):
    """The callback would go to a host that is not on SFGW_SALESFORCE_HOSTS."""

    def __init__(self, host: str) -> None:
        super().__init__(
            "HOST_NOT_ALLOWED",
            f"host {host!r} is not on SFGW_SALESFORCE_HOSTS; refusing to send credentials",
        )

    @property
    def kind(self) -> Kind:
        return "permanent"


class OrgMismatch(SalesforceError):
    """The OAuth token belongs to another org than the one that sent the message.

    One gateway may serve several orgs, but a credential is for one org: writing with it
    would update the wrong org's records (or fail with confusing errors). Permanent: the
    operator must configure that org's credential, then replay."""

    def __init__(self, token_org: str, job_org: str) -> None:
        super().__init__(
            "ORG_MISMATCH",
            f"the OAuth token is for org {token_org}, the message came from org {job_org}; "
            "configure a credential for that org, then replay",
        )

    @property
    def kind(self) -> Kind:
        return "permanent"


class ApexCallFailed(SalesforceError):
    """The org's own Apex code threw (an uncaught exception, a governor limit such as
    ``System.LimitException``): the whole call failed and no record of it was saved.

    Unlike a platform API's failure, this one may be caused by the records themselves (one
    record whose trigger throws, a batch too big for the transaction's limits), so the
    callback stage retries the batch once and then narrows it down by halves
    (:mod:`gateway.pipeline.callbacks.narrowing`)."""

    @property
    def kind(self) -> Kind:
        return "retry"


@dataclass(frozen=True)
class RecordOutcome:
    """The result for one record of an update call."""

    record_id: str
    kind: Kind
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "success"

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code

    @classmethod
    def success(cls, record_id: str) -> RecordOutcome:
        return cls(record_id=record_id, kind="success")

    @classmethod
    def failure(cls, record_id: str, code: str, message: str) -> RecordOutcome:
        return cls(
            record_id=record_id, kind=kind_of(code), code=code, message=redact(message)[:500]
        )
