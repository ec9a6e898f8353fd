"""The pipeline's decisions, as pure functions: what failed how, and what to do next.

Nothing here touches a socket or Redis, so every rule is tested directly:

* :func:`classify` turns any exception from a stage into :class:`Retry` (with the delay
  until the next attempt) or :class:`Permanent` (with a reason a person can act on).
* :class:`RetryPolicy` is the schedule: exponential from ``min_backoff`` up to a sane
  maximum gap, for at least ``retry_for`` (Salesforce's own window is 24 h, and an order
  that is a day late is still wanted), with long waits when the org is out of API calls.
* :func:`plan_order` decides, from a notification's fields, whether to skip it (already
  ordered, not won), read the Opportunity first (the Id-only contract) or order it now,
  and builds the ERP request.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass

import requests
from redis.exceptions import RedisError

from gateway import lexical, sfid
from gateway.jobs import FieldValue
from gateway.orders import OrderRequest
from gateway.salesforce.errors import Kind, RecordOutcome, SalesforceError
from gateway.secrets import redact


@dataclass(frozen=True)
class Retry:
    delay_ms: int
    reason: str


@dataclass(frozen=True)
class Permanent:
    reason: str


Decision = Retry | Permanent


class PermanentJobError(Exception):
    """The job itself can never succeed (bad id, a deleted record, bad field values)."""


def _uniform(rng: random.Random | None, low: float, high: float) -> float:
    return (rng or random).uniform(low, high)


@dataclass(frozen=True)
class RetryPolicy:
    retry_for_ms: int
    min_backoff_ms: int
    max_backoff_ms: int
    limit_backoff_ms: int

    def backoff_ms(self, attempt: int, rng: random.Random | None = None) -> int:
        """The wait before retry number ``attempt`` (0 = first retry): doubling from
        ``min_backoff``, capped at ``max_backoff``, times a jitter of 0.75-1.25 so that
        records that failed together (a lock, an outage) do not come back together."""
        base = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** min(attempt, 40))
        return max(1, min(self.max_backoff_ms, int(base * _uniform(rng, 0.75, 1.25))))

    def lock_backoff_ms(self, attempt: int, rng: random.Random | None = None) -> int:
        """``UNABLE_TO_LOCK_ROW``: another transaction holds the row for a moment; a short
        wait with wide (0.25-1.0) jitter spreads the contenders apart."""
        base = min(self.max_backoff_ms, self.min_backoff_ms * 2 ** min(attempt, 40))
        return max(1, int(base * _uniform(rng, 0.25, 1.0)))

    def limit_delay_ms(self, attempt: int, rng: random.Random | None = None) -> int:
        """``REQUEST_LIMIT_EXCEEDED``: the allowance is a rolling 24 h window; hammering it
        only burns what other integrations need. Wait long, with some jitter."""
        base = max(self.limit_backoff_ms, self.backoff_ms(attempt, rng))
        return int(base * _uniform(rng, 1.0, 1.25))

    def within_window(self, first_attempt_ms: int, now_ms: int) -> bool:
        """True while a retryable failure should still be retried."""
        return now_ms - first_attempt_ms < self.retry_for_ms

    def max_retries(self) -> int:
        """Retries needed to span the window even with the shortest jittered waits; the
        cap Dramatiq applies to failures this module never saw (e.g. a time limit)."""
        total, count = 0.0, 0
        while total < self.retry_for_ms:
            base = self.min_backoff_ms * 2 ** min(count, 40)
            if base >= self.max_backoff_ms:  # the rest are all at the maximum gap
                gap = self.max_backoff_ms * 0.75
                return count + max(1, math.ceil((self.retry_for_ms - total) / gap))
            total += base * 0.75
            count += 1
        return max(1, count)


def classify(  # noqa: PLR0911 - one return per kind of failure reads best
    error: BaseException, attempt: int, policy: RetryPolicy, rng: random.Random | None = None
) -> Decision:
    """Retry or give up, for any exception a stage raised.

    Unknown exceptions are retried: a bug or an unforeseen outage must not drop an order
    silently; if it persists, the job reaches the dead letters at the end of the window
    with the exception's type and message as the reason.
    """
    if isinstance(error, PermanentJobError):
        return Permanent(_text(error))
    if isinstance(error, SalesforceError):
        return _by_kind(error.kind, f"Salesforce {error}", attempt, policy, rng)
    retryable = getattr(error, "retryable", None)
    if isinstance(retryable, bool):  # the ERP client's errors (gateway.erp.ErpError)
        text = getattr(error, "reason", "") or _text(error)
        reason = text if text.startswith("ERP ") else f"ERP {text}"  # the client's own say so
        if retryable:
            return Retry(policy.backoff_ms(attempt, rng), reason)
        return Permanent(reason)
    if isinstance(error, requests.Timeout | socket.timeout | TimeoutError):
        return Retry(policy.backoff_ms(attempt, rng), f"timeout: {_text(error)}")
    if isinstance(error, requests.ConnectionError | ConnectionError):
        return Retry(policy.backoff_ms(attempt, rng), f"connection error: {_text(error)}")
    if isinstance(error, RedisError):
        return Retry(policy.backoff_ms(attempt, rng), f"Redis: {_text(error)}")
    return Retry(
        policy.backoff_ms(attempt, rng), f"unexpected {type(error).__name__}: {_text(error)}"
    )


def classify_record(
    outcome: RecordOutcome, attempt: int, policy: RetryPolicy, rng: random.Random | None = None
) -> Decision | None:
    """None for a saved record; otherwise what to do with this one record."""
    if outcome.ok:
        return None
    return _by_kind(outcome.kind, f"Salesforce {outcome.reason}", attempt, policy, rng)


def decide(
    failure: BaseException | RecordOutcome,
    attempt: int,
    policy: RetryPolicy,
    *,
    first_ms: int,
    now_ms: int,
    rng: random.Random | None = None,
) -> Decision | None:
    """What to do after one attempt of a job, the one place that says so.

    ``failure`` is what the attempt raised, or one record's outcome in a Salesforce call
    that succeeded as a whole (``None`` back: the record was saved). A retryable failure
    stays a :class:`Retry` while the job is inside ``SFGW_RETRY_FOR_S`` counted from its
    first attempt (``first_ms``); after that it becomes :class:`Permanent`, with one
    wording everywhere: ``gave up after N attempts over the retry window: <reason>``.
    """
    if isinstance(failure, RecordOutcome):
        decision = classify_record(failure, attempt, policy, rng)
    else:
        decision = classify(failure, attempt, policy, rng)
    if isinstance(decision, Retry) and not policy.within_window(first_ms, now_ms):
        return Permanent(
            f"gave up after {attempt + 1} attempts over the retry window: {decision.reason}"
        )
    return decision


def _by_kind(
    kind: Kind, reason: str, attempt: int, policy: RetryPolicy, rng: random.Random | None
) -> Decision:
    if kind == "permanent":
        return Permanent(reason)
    if kind == "limit":
        return Retry(policy.limit_delay_ms(attempt, rng), reason)
    if "UNABLE_TO_LOCK_ROW" in reason:
        return Retry(policy.lock_backoff_ms(attempt, rng), reason)
    # "session" reaches here only after the client already refreshed once.
    return Retry(policy.backoff_ms(attempt, rng), reason)


def _text(error: BaseException) -> str:
    return redact(str(error))[:500] or type(error).__name__


# --------------------------------------------------------------------------------------
# What to do with one notification


#: Opportunity fields the order is built from; the Id-only contract sends none of them.
ORDER_FIELDS = ("Name", "AccountId", "Amount", "CloseDate", "IsWon")


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class ReadFirst:
    """The notification lacks fields the order needs: read the Opportunity first."""

    missing: tuple[str, ...]


@dataclass(frozen=True)
class PlaceOrder:
    request: OrderRequest


Plan = Skip | ReadFirst | PlaceOrder


def opportunity_id(record_id: str | None) -> str:
    """The 18-character Opportunity id of a job, or a permanent error."""
    if not record_id:
        raise PermanentJobError(
            "record deleted before delivery (the notification carries no record Id)"
        )
    try:
        value = sfid.to18(record_id)
    except sfid.InvalidSalesforceId as error:
        raise PermanentJobError(f"MALFORMED_ID: {error}") from None
    if sfid.key_prefix(value) != "006":
        raise PermanentJobError(f"MALFORMED_ID: {value} is not an Opportunity id (006...)")
    return value


def plan_order(
    record_id: str | None,
    fields: Mapping[str, FieldValue],
    *,
    order_number_field: str,
    currency_code: str,
    have_read: bool = False,
) -> Plan:
    """Skip, read first, or place the order, from the fields we have.

    A field that is present with a None value was sent as nil: it is known to be empty,
    so it does not trigger a read. After a read (``have_read``) we never read again.
    """
    opp_id = opportunity_id(record_id)
    existing = fields.get(order_number_field)
    if isinstance(existing, str) and existing.strip():
        return Skip(f"already has order number {existing.strip()}")
    missing = tuple(name for name in ORDER_FIELDS if name not in fields)
    if missing and not have_read:
        return ReadFirst(missing)
    try:
        won = lexical.as_bool(fields.get("IsWon"))
    except ValueError as error:
        raise PermanentJobError(f"IsWon: {error}") from None
    if won is False:
        return Skip("Opportunity is not won (any more)")
    return PlaceOrder(order_request(opp_id, fields, currency_code=currency_code))


def order_request(
    opp_id: str, fields: Mapping[str, FieldValue], *, currency_code: str
) -> OrderRequest:
    """The ERP request for an Opportunity; bad values are permanent errors.

    The values are read with :mod:`gateway.lexical`, so the form Salesforce sent them in
    (``1.2E5``, ``2017-04-03Z``, a 15-character AccountId) and the JSON of a REST read
    give the same order.
    """
    try:
        amount = lexical.as_decimal(fields.get("Amount"))
    except ValueError as error:
        raise PermanentJobError(f"Amount {error}") from None
    if amount is not None and not amount.is_finite():
        raise PermanentJobError(f"Amount {fields.get('Amount')!r} is not a finite number")
    try:
        close = lexical.as_date(fields.get("CloseDate"))
    except ValueError as error:
        raise PermanentJobError(f"CloseDate {error}") from None
    try:
        account = lexical.as_id(fields.get("AccountId"))
    except ValueError as error:
        raise PermanentJobError(f"AccountId {error}") from None
    currency = fields.get("CurrencyIsoCode")
    name = fields.get("Name")
    return OrderRequest(
        external_reference=opp_id,
        customer_reference=account,
        title=name if isinstance(name, str) and name else None,
        amount=amount,
        currency_code=currency if isinstance(currency, str) and currency else currency_code,
        close_date=close,
    )
