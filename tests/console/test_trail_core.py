"""The trail's functional core: events encode compactly and decode to what was written,
within the size bound, and the intake's fast path writes exactly what encode() writes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gateway.config import ConfigError
from gateway.trail import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    CallbackWritten,
    DeadLettered,
    OrderPlaced,
    Received,
    Retried,
    Trail,
    TrailSettings,
    decode,
    describe,
    encode,
    record_key,
)

ORG = "00D5g000004SfGw"
OPP = "0065g00000AbCdEAAV"


def test_an_event_decodes_to_what_was_encoded() -> None:
    for event in (
        Received(1_700_000_000_123, ORG, notification="04l000000000001AAA", queue="orders"),
        Received(1, ORG, notification="04l000000000001AAA", duplicate=True, queue="orders"),
        OrderPlaced(2, ORG, notification="n", order_number="SO-000123", created=False),
        CallbackWritten(3, ORG, mode="collections", order_number="SO-1", batch=200),
        Retried(4, ORG, stage="orders", attempt=2, reason="ERP unavailable", delay_ms=2000),
        DeadLettered(5, ORG, stage="orders", letter="ord-0123456789ab", reason="x", attempts=1),
    ):
        assert decode(encode(event)) == event


def test_defaults_are_left_out_so_a_normal_event_is_small() -> None:
    text = encode(Received(1_700_000_000_123, ORG, notification="04l000000000001AAA",
                           queue="orders"))  # fmt: skip
    assert json.loads(text) == {
        "k": "received",
        "t": 1_700_000_000_123,
        "o": ORG,
        "notification": "04l000000000001AAA",
        "queue": "orders",
    }
    assert len(text) < 120


@given(st.text(max_size=5000), st.text(max_size=300))
def test_no_event_outgrows_the_bound(reason: str, letter: str) -> None:
    text = encode(DeadLettered(1, ORG, stage="callbacks", letter=letter, reason=reason))
    assert len(text.encode()) <= MAX_EVENT_BYTES
    decoded = decode(text)
    assert isinstance(decoded, DeadLettered)
    assert reason.startswith(decoded.reason)


def test_unknown_or_broken_events_are_skipped_not_fatal() -> None:
    assert decode('{"k":"from-the-future","t":1,"o":"x"}') is None
    assert decode("not json") is None
    assert decode('{"k":"order","o":"x"}') is None  # no time


def test_every_kind_describes_itself() -> None:
    for kind, cls in EVENT_TYPES.items():
        line = describe(cls(at=1, org=ORG))
        assert line and (kind in line or line != kind)
    placed = OrderPlaced(1, ORG, order_number="SO-000042", created=True)
    assert describe(placed) == "ERP order SO-000042 created"


def test_the_intake_fast_path_writes_exactly_what_encode_writes() -> None:
    trail = Trail.__new__(Trail)  # no Redis needed for building the events
    trail.settings = TrailSettings()
    trail._core = type("Core", (), {"key": staticmethod(lambda *p: ":".join(("p", *p)))})()  # type: ignore[assignment]
    append = trail.received(
        "orders",
        [("00D5g000004SfGwEAK", "04l000000000001AAA", OPP),
         ("00D5g000004SfGwEAK", "04l000000000002AAA", None)],
        at=42,
    )  # fmt: skip
    assert append.keys[0] == f"p:trail:{OPP}"
    assert append.if_new[0] == encode(
        Received(42, ORG, notification="04l000000000001AAA", queue="orders")
    )
    assert append.if_duplicate[0] == encode(
        Received(42, ORG, notification="04l000000000001AAA", duplicate=True, queue="orders")
    )
    # a notification without a record appends nothing
    assert append.if_new[1] == append.if_duplicate[1] == ""


def test_ids_of_15_and_18_characters_share_one_trail() -> None:
    assert record_key(OPP[:15]) == record_key(OPP) == OPP
    assert record_key("not an id") is None


def test_settings_keep_at_least_seven_days_and_switch_off() -> None:
    assert TrailSettings.from_env({}) == TrailSettings(enabled=True, ttl_s=7 * 86400)
    assert not TrailSettings.from_env({"SFGW_TRAIL": "off"}).enabled
    for bad in ({"SFGW_TRAIL_TTL_S": "3600"}, {"SFGW_TRAIL": "maybe"}):
        try:
            TrailSettings.from_env(bad)
        except ConfigError as error:
            assert next(iter(bad)) in str(error)
        else:
            raise AssertionError(f"{bad} was accepted")
