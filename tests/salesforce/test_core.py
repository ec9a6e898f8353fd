"""The mock org's functional core, without sockets."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway import sfid
from mock_salesforce import delivery, paging, soql
from mock_salesforce.admin import VIEW_COLUMNS, opportunity_view
from mock_salesforce.oauth import OAuthConfig, OAuthError, check_grant, load_public_key
from mock_salesforce.records import validate_changes
from mock_salesforce.schema import ObjectSchema
from mock_salesforce.store import OrgStore

from .conftest import ACK, FAULT, NACK
from .keys import make_keypair

OUT = "{http://soap.sforce.com/2005/09/outbound}"


def test_query_paging_rules() -> None:
    assert paging.batch_size(None) is None and paging.batch_size("") is None
    assert paging.batch_size("batchSize=1000") == 1000
    assert paging.batch_size("BATCHSIZE = 500") == 500
    assert paging.batch_size("batchSize=50") == 200  # documented minimum
    assert paging.batch_size("batchSize=9000") == 2000  # documented maximum
    assert paging.batch_size("batchSize=abc") is None  # unreadable: the default applies
    assert paging.page(450, 0, 200) == paging.Page(0, 200, 200)
    assert paging.page(450, 400, 200) == paging.Page(400, 450, None)
    assert paging.page(200, 0, 200) == paging.Page(0, 200, None)
    url = paging.next_records_url("v62.0", "01g5g0000000001AAA", 2000)
    assert url == "/services/data/v62.0/query/01g5g0000000001AAA-2000"
    assert paging.parse_locator(url.rsplit("/", 1)[1]) == ("01g5g0000000001AAA", 2000)
    for bad in ("01g5g0000000001AAA", "0065g0000000001AAA-200", "01g5g0000000001AAA-x", ""):
        assert paging.parse_locator(bad) is None


def test_retry_schedule_starts_at_15_seconds_and_caps_at_2_hours() -> None:
    delays = [delivery.retry_delay(n) for n in range(1, 14)]
    assert delays[:4] == [15, 30, 60, 120]
    assert max(delays) == 7200
    assert all(b >= a for a, b in itertools.pairwise(delays))
    # Retries fit Salesforce's 24 hours many times over, but not forever.
    total, attempts = 0.0, 0
    while total < delivery.RETENTION:
        attempts += 1
        total += delivery.retry_delay(attempts)
    assert 15 <= attempts <= 25


@pytest.mark.parametrize(
    ("status", "body", "delivered", "reason"),
    [
        (200, ACK, True, ""),
        (200, NACK, False, "SOAP response was a nack"),
        (
            200,
            b'{"ack": true}',
            False,
            "org.xml.sax.SAXParseException; Content is not allowed in prolog.",
        ),
        (200, b"", False, "org.xml.sax.SAXParseException; Premature end of file."),
        (500, FAULT, False, "soapenv:Server: queue unavailable"),
        (200, FAULT, False, "soapenv:Server: queue unavailable"),
        (500, b"oops", False, "(500)Internal Server Error"),
        (202, ACK, False, "(202)Accepted"),
        (
            200,
            ACK.replace(b"notificationsResponse", b"notifications"),
            False,
            f"Unexpected element {OUT}notifications in SOAP response",
        ),
        (
            200,
            ACK.replace(b"2005/09/outbound", b"2005/09/other"),
            False,
            "Unexpected element {http://soap.sforce.com/2005/09/other}notificationsResponse"
            " in SOAP response",
        ),
    ],
)
def test_replies_are_judged_like_salesforce(
    status: int, body: bytes, delivered: bool, reason: str
) -> None:
    phrase = {500: "Internal Server Error", 202: "Accepted"}.get(status, "OK")
    verdict = delivery.judge_reply(status, phrase, body)
    assert verdict == delivery.Verdict(delivered, reason)


@given(st.integers(min_value=1, max_value=1000), st.floats(min_value=0, max_value=1))
def test_batches_never_exceed_100_and_keep_every_notification(count: int, split: float) -> None:
    items = list(range(count))
    batches = delivery.plan_batches(items, split_probability=split, rng=random.Random(count))
    assert all(1 <= len(b) <= 100 for b in batches)
    assert [i for b in batches for i in b] == items


def test_250_notifications_make_three_messages() -> None:
    assert [len(b) for b in delivery.plan_batches(list(range(250)))] == [100, 100, 50]


def test_reconciliation_soql_shape(schema: ObjectSchema) -> None:
    query = soql.parse(
        "select Id, Name from Opportunity where IsWon = TRUE and Order_Number__c = null "
        "and LastModifiedDate >= 2026-03-02T09:14:27.000Z order by LastModifiedDate desc limit 5",
        schema,
    )
    assert query.fields == ("Id", "Name")
    assert query.limit == 5
    [(order_field, descending, _)] = query.order
    assert descending and order_field.name == "LastModifiedDate"
    since = dt.datetime(2026, 3, 2, 9, 14, 27, tzinfo=dt.UTC).timestamp()
    match = {"IsWon": True, "Order_Number__c": None, "LastModifiedDate": since}
    assert query.matches(match)
    assert not query.matches({**match, "Order_Number__c": "ERP-1"})
    assert not query.matches({**match, "LastModifiedDate": since - 1})


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DELETE FROM Opportunity", "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE IsWon = true OR IsClosed = true AND Amount > 1",
         "MALFORMED_QUERY"),
        ("SELECT Id FROM Opportunity WHERE LastModifiedDate >= '2026-01-01'", "INVALID_FIELD"),
        ("SELECT Nope__c FROM Opportunity", "INVALID_FIELD"),
        ("SELECT Id FROM Account", "INVALID_TYPE"),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Opportunity", "MALFORMED_QUERY"),
    ],
)  # fmt: skip
def test_other_queries_are_refused(text: str, code: str, schema: ObjectSchema) -> None:
    with pytest.raises(soql.SoqlError) as caught:
        soql.parse(text, schema)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"Foo__c": "x"}, "INVALID_FIELD"),
        ({"IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"isclosed": True}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ({"Order_Number__c": "x" * 81}, "STRING_TOO_LONG"),
        ({"Order_Status__c": "Shipped"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ({"AccountId": "006000000000000"}, "MALFORMED_ID"),
        ({"Name": None}, "REQUIRED_FIELD_MISSING"),
    ],
)
def test_field_validation(changes: dict[str, object], code: str, schema: ObjectSchema) -> None:
    assert validate_changes(changes, schema).errors[0].status_code == code


def test_valid_changes_are_normalised(schema: ObjectSchema) -> None:
    result = validate_changes(
        {"order_number__c": "x" * 80, "Amount": "12.5", "Order_Status__c": None}, schema
    )
    assert not result.errors
    assert result.changes == {"Order_Number__c": "x" * 80, "Amount": 12.5, "Order_Status__c": None}


def test_oauth_decisions() -> None:
    pair = make_keypair()
    config = OAuthConfig(
        "cid", "secret", "u@x", "https://login.salesforce.com", load_public_key(pair.cert_pem)
    )
    now = time.time()
    assert (
        check_grant(
            {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "secret"},
            config,
            now,
        )
        == "client_credentials"
    )
    good = jwt.encode(
        {"iss": "cid", "sub": "u@x", "aud": "https://login.salesforce.com", "exp": int(now) + 60},
        pair.private_pem,
        algorithm="RS256",
    )
    assert check_grant(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": good},
        config,
        now,
    )
    hs256 = jwt.encode(
        {"iss": "cid", "sub": "u@x", "aud": "https://login.salesforce.com", "exp": int(now) + 60},
        "k" * 32,
        algorithm="HS256",
    )
    with pytest.raises(OAuthError) as caught:
        check_grant(
            {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": hs256},
            config,
            now,
        )
    assert caught.value.body() == {
        "error": "invalid_grant",
        "error_description": "invalid assertion",
    }


def test_ids_are_valid_18_character_ids_with_the_right_prefix(tmp_path: Path) -> None:
    store = OrgStore(tmp_path / "org.sqlite3")
    ids = store.create_opportunities(70)
    assert len(set(ids)) == 70
    assert all(sfid.is_valid(i) and len(i) == 18 and i.startswith("006") for i in ids)
    assert sfid.to18(ids[-1][:15]) == ids[-1]


def test_only_one_sender_holds_the_lease(tmp_path: Path) -> None:
    first = OrgStore(tmp_path / "org.sqlite3")
    second = OrgStore(tmp_path / "org.sqlite3")
    now = time.time()
    assert first.take_lease("a", 10, now)
    assert not second.take_lease("b", 10, now + 1)
    assert first.take_lease("a", 10, now + 2)  # renewal
    assert second.take_lease("b", 10, now + 13)  # a stopped renewing
    assert not first.take_lease("a", 10, now + 14)


def test_the_rule_fires_only_when_the_stage_changes_to_won(tmp_path: Path) -> None:
    store = OrgStore(tmp_path / "org.sqlite3")
    store.set_definitions(
        [
            {"name": "a", "contract": "opportunity_with_fields", "endpoint_url": "http://x/a"},
            {"name": "b", "contract": "opportunity_id_only", "endpoint_url": "http://x/b"},
        ]
    )
    [oid] = store.close_won(1)
    queued = store.unassigned_notifications()
    assert sorted(len(v) for v in queued.values()) == [1, 1]
    store.update(oid, {"Order_Number__c": "ERP-1"})  # the callback's write: no new message
    store.update(oid, {"StageName": "Closed Won"})  # unchanged stage: no new message
    assert sum(len(v) for v in store.unassigned_notifications().values()) == 2
    record = store.get(oid)
    assert record is not None and record["IsWon"] and record["IsClosed"]


def test_selected_columns_are_the_full_records_narrowed(tmp_path: Path) -> None:
    store = OrgStore(tmp_path / "org.sqlite3")
    won = store.close_won(3)
    store.create_opportunities(2)
    store.update(won[0], {"Order_Number__c": "SO-000001", "Order_Status__c": "Created"})
    store.delete(won[1])
    columns = ("Id", "IsWon", "IsDeleted", "IsClosed", "LastModifiedDate", "Order_Number__c")
    full = store.all_opportunities()
    assert store.opportunity_columns(columns) == [{c: r[c] for c in columns} for r in full]
    narrowed = store.opportunity_columns(VIEW_COLUMNS)
    assert [opportunity_view(r) for r in narrowed] == [opportunity_view(r) for r in full]
    with pytest.raises(ValueError, match="Secret__c"):
        store.opportunity_columns(("Id", "Secret__c"))


def test_a_counter_bumped_in_a_transaction_commits_or_rolls_back_with_it(tmp_path: Path) -> None:
    store = OrgStore(tmp_path / "org.sqlite3")
    with pytest.raises(RuntimeError), store.tx():
        store.bump("lock_error")
        raise RuntimeError("the save failed")
    assert store.fired()["lock_error"] == 0  # rolled back with what it counted
    with store.tx():
        store.bump("lock_error", 2)
    store.bump("chaos_split")  # no transaction open: one of its own
    store.bump("chaos_split", now=time.time() - 86400)  # yesterday (UTC): summed
    fired = store.fired()
    assert (fired["lock_error"], fired["chaos_split"]) == (2, 2)
    assert set(fired) == {
        "invalid_session", "limit_exceeded", "unavailable", "lock_error", "validation_error",
        "chaos_redeliver", "chaos_reorder", "chaos_split",
    }  # fmt: skip
    store.reset_usage()
    assert set(store.fired().values()) == {0}


def test_counted_faults_are_used_up_one_at_a_time(tmp_path: Path) -> None:
    store = OrgStore(tmp_path / "org.sqlite3")
    a, b = store.create_opportunities(2)
    document = store.set_faults(
        {"lock_ids": {a[:15]: 2, b: 0}, "call_errors": ["SERVER_UNAVAILABLE", "INVALID_SESSION_ID"]}
    )
    assert document["lock_ids"] == {a: 2}  # the 18-character id; nothing to refuse for b
    assert [store.take_lock(a) for _ in range(3)] == [True, True, False]
    assert not store.take_lock(b)
    assert [store.pop_call_error() for _ in range(3)] == [
        "SERVER_UNAVAILABLE", "INVALID_SESSION_ID", None,
    ]  # fmt: skip
    assert (store.faults()["lock_ids"], store.faults()["call_errors"]) == ({}, [])
    with pytest.raises(ValueError, match="daily_api_limit"):
        store.set_faults({"daily_api_limit": -1})
    assert store.set_faults({"daily_api_limit": 0})["daily_api_limit"] == 0
