"""The functional core: failure classification, the retry schedule and order planning."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway import sfid
from gateway.pipeline.policy import (
    Permanent,
    PermanentJobError,
    PlaceOrder,
    ReadFirst,
    Retry,
    RetryPolicy,
    Skip,
    classify,
    classify_record,
    opportunity_id,
    plan_order,
)
from gateway.salesforce.errors import (
    HostNotAllowed,
    RecordOutcome,
    SalesforceAuthError,
    SalesforceError,
)

POLICY = RetryPolicy(
    retry_for_ms=86_400_000,
    min_backoff_ms=2_000,
    max_backoff_ms=1_800_000,
    limit_backoff_ms=900_000,
)
OPP15 = "0065g00000AbCdE"
OPP18 = "0065g00000AbCdEAAV"


class FakeErpError(Exception):
    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@pytest.mark.parametrize(
    "error",
    [
        requests.Timeout("read timed out"),
        requests.ConnectionError("refused"),
        TimeoutError(),
        SalesforceError("HTTP_503", "unavailable", status=503),
        SalesforceError("SERVER_UNAVAILABLE", "maintenance"),
        SalesforceError("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"),
        SalesforceError("INVALID_SESSION_ID", "after one refresh", status=401),
        SalesforceError("TIMEOUT", "token"),
        FakeErpError("Unavailable: ERP maintenance", retryable=True),
        RedisConnectionError("down"),
        KeyError("a bug"),
    ],
)
def test_retryable_failures(error: BaseException) -> None:
    decision = classify(error, 0, POLICY, random.Random(1))
    assert isinstance(decision, Retry)
    assert 0 < decision.delay_ms <= POLICY.max_backoff_ms


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (FakeErpError("ValidationFault AMOUNT_NEGATIVE: Amount must be >= 0", False), "AMOUNT"),
        (SalesforceError("MALFORMED_ID", "bad id", status=400), "MALFORMED_ID"),
        (SalesforceError("ENTITY_IS_DELETED", "deleted", status=404), "ENTITY_IS_DELETED"),
        (SalesforceError("FIELD_CUSTOM_VALIDATION_EXCEPTION", "rule"), "FIELD_CUSTOM"),
        (SalesforceError("INSUFFICIENT_ACCESS_OR_READONLY", "no"), "INSUFFICIENT_ACCESS"),
        (SalesforceError("INVALID_FIELD", "no such field"), "INVALID_FIELD"),
        (HostNotAllowed("evil.example.com"), "evil.example.com"),
        (PermanentJobError("MALFORMED_ID: x"), "MALFORMED_ID"),
    ],
)
def test_permanent_failures(error: BaseException, text: str) -> None:
    decision = classify(error, 3, POLICY)
    assert isinstance(decision, Permanent)
    assert text in decision.reason


def test_limit_exceeded_waits_long() -> None:
    decision = classify(
        SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests", status=403), 0, POLICY
    )
    assert isinstance(decision, Retry)
    assert decision.delay_ms >= POLICY.limit_backoff_ms


def test_token_endpoint_refusal_retries_with_the_long_backoff() -> None:
    decision = classify(SalesforceAuthError("invalid_client", "refused", status=400), 0, POLICY)
    assert isinstance(decision, Retry) and decision.delay_ms >= POLICY.limit_backoff_ms


def test_lock_row_is_jittered_and_short() -> None:
    rng = random.Random(7)
    delays = {
        classify(SalesforceError("UNABLE_TO_LOCK_ROW", "x"), 0, POLICY, rng).delay_ms  # type: ignore[union-attr]
        for _ in range(50)
    }
    assert len(delays) > 10  # spread apart
    assert max(delays) <= POLICY.min_backoff_ms


def test_record_outcomes() -> None:
    assert classify_record(RecordOutcome.success(OPP18), 0, POLICY) is None
    lock = classify_record(RecordOutcome.failure(OPP18, "UNABLE_TO_LOCK_ROW", "locked"), 0, POLICY)
    assert isinstance(lock, Retry)
    rule = classify_record(
        RecordOutcome.failure(OPP18, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Order must be SO-"),
        0,
        POLICY,
    )
    assert isinstance(rule, Permanent) and "Order must be SO-" in rule.reason


def test_reasons_never_carry_tokens() -> None:
    token = "00D000000000001!AQ0abcdefghijklmnopqrstuvwxyz0123456789"
    decision = classify(RuntimeError(f"boom with Bearer {token}"), 0, POLICY)
    assert token not in decision.reason
    decision = classify(SalesforceError("INVALID_FIELD", f"bad {token}"), 0, POLICY)
    assert token not in decision.reason


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_between_bounds(attempt: int, seed: int) -> None:
    delay = POLICY.backoff_ms(attempt, random.Random(seed))
    assert 1 <= delay <= POLICY.max_backoff_ms
    if attempt == 0:
        assert delay <= POLICY.min_backoff_ms * 1.25


@given(
    st.integers(min_value=10, max_value=10_000),
    st.integers(min_value=1, max_value=100),
    st.integers(min_value=1, max_value=30 * 86_400),
)
def test_max_retries_spans_the_window(min_backoff: int, factor: int, retry_for_s: int) -> None:
    policy = RetryPolicy(
        retry_for_ms=retry_for_s * 1000,
        min_backoff_ms=min_backoff,
        max_backoff_ms=min_backoff * factor,
        limit_backoff_ms=min_backoff,
    )
    count = policy.max_retries()
    ramp = [policy.min_backoff_ms * 2**n for n in range(64)]
    ramp = [b for b in ramp if b < policy.max_backoff_ms][:count]
    shortest = sum(b * 0.75 for b in ramp) + (count - len(ramp)) * policy.max_backoff_ms * 0.75
    assert shortest >= policy.retry_for_ms


def test_default_schedule_covers_a_day_with_a_sane_gap() -> None:
    assert POLICY.max_retries() < 200  # not weeks of Dramatiq defaults, not thousands
    assert POLICY.within_window(0, 86_399_000)
    assert not POLICY.within_window(0, 86_400_000)


def test_opportunity_ids_are_normalised_and_checked() -> None:
    assert opportunity_id(OPP15) == OPP18
    assert opportunity_id(OPP15.lower()) != OPP18  # case matters in the 15
    for bad in (None, "", "short", "0015g00000AbCdE"):
        with pytest.raises(PermanentJobError):
            opportunity_id(bad)


def test_plan_skips_when_already_ordered() -> None:
    plan = plan_order(
        OPP18,
        {"Order_Number__c": "SO-000123"},
        order_number_field="Order_Number__c",
        currency_code="USD",
    )
    assert isinstance(plan, Skip) and "SO-000123" in plan.reason


def test_plan_reads_first_for_the_id_only_contract() -> None:
    plan = plan_order(OPP18, {}, order_number_field="Order_Number__c", currency_code="USD")
    assert isinstance(plan, ReadFirst) and "Amount" in plan.missing


def test_plan_never_reads_twice() -> None:
    plan = plan_order(
        OPP18,
        {"Name": "X"},
        order_number_field="Order_Number__c",
        currency_code="USD",
        have_read=True,
    )
    assert isinstance(plan, PlaceOrder)


def test_plan_skips_an_opportunity_that_is_no_longer_won() -> None:
    fields = {
        "Name": "A",
        "AccountId": None,
        "Amount": 1.0,
        "CloseDate": "2026-01-01",
        "IsWon": False,
    }
    plan = plan_order(OPP18, fields, order_number_field="Order_Number__c", currency_code="USD")
    assert isinstance(plan, Skip)


def test_plan_maps_fields_to_the_order() -> None:
    fields = {
        "Name": "Big deal",
        "AccountId": "0015g00000XyZaB",
        "Amount": 1234.5,
        "CloseDate": "2026-11-27",
        "IsWon": True,
        "Order_Number__c": None,
    }
    plan = plan_order(OPP15, fields, order_number_field="Order_Number__c", currency_code="EUR")
    assert isinstance(plan, PlaceOrder)
    draft = plan.request
    assert draft.external_reference == OPP18
    assert draft.amount == Decimal("1234.5")
    assert draft.close_date == date(2026, 11, 27)
    assert draft.title == "Big deal"
    # the ERP always gets the 18-character AccountId, whatever form it came in
    assert draft.customer_reference == sfid.to18("0015g00000XyZaB")
    assert draft.currency_code == "EUR"


def test_the_lexical_forms_salesforce_sends_plan_the_same_order() -> None:
    """A job carries values as the outbound message wrote them; a REST read gives JSON."""
    as_json = {
        "Name": "Big deal",
        "AccountId": sfid.to18("0015g00000XyZaB"),
        "Amount": 1234.5,
        "CloseDate": "2026-11-27",
        "IsWon": True,
    }
    as_sent = {
        "Name": "Big deal",
        "AccountId": "0015g00000XyZaB",
        "Amount": "1.2345E3",
        "CloseDate": "2026-11-27Z",
        "IsWon": "1",
    }
    plans = [
        plan_order(OPP18, f, order_number_field="Order_Number__c", currency_code="EUR")
        for f in (as_json, as_sent)
    ]
    assert isinstance(plans[0], PlaceOrder) and isinstance(plans[1], PlaceOrder)
    assert plans[0].request == plans[1].request
    not_won = dict(as_sent, IsWon="0")
    assert isinstance(
        plan_order(OPP18, not_won, order_number_field="Order_Number__c", currency_code="EUR"),
        Skip,
    )


@pytest.mark.parametrize(
    ("field", "value"), [("Amount", "abc"), ("Amount", float("inf")), ("CloseDate", "27/11/2026")]
)
def test_bad_field_values_are_permanent(field: str, value: object) -> None:
    fields = {
        "Name": "A",
        "AccountId": None,
        "Amount": 1.0,
        "CloseDate": "2026-01-01",
        "IsWon": True,
    }
    fields[field] = value  # type: ignore[assignment]
    with pytest.raises(PermanentJobError):
        plan_order(OPP18, fields, order_number_field="Order_Number__c", currency_code="USD")


def test_an_erp_reason_is_said_once() -> None:
    """The ERP client's reasons already start with "ERP"; a dead letter must not say
    "ERP ERP rejected ...", while a bare reason still names the ERP."""
    from gateway.erp import ErpPermanentError, ErpRetryableError

    rejected = classify(ErpPermanentError("ERP rejected CreateOrder: CUSTOMER_ON_HOLD"), 0, POLICY)
    assert rejected == Permanent("ERP rejected CreateOrder: CUSTOMER_ON_HOLD")
    bare = classify(ErpRetryableError("store busy"), 0, POLICY)
    assert isinstance(bare, Retry) and bare.reason == "ERP store busy"
