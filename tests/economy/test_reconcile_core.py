"""The reconciliation sweep's functional core, without sockets."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway import sfid
from gateway.cli_support import CommandError, parse_since
from gateway.config import ConfigError
from gateway.pipeline.policy import PlaceOrder, plan_order
from gateway.pipeline.reconcile import (
    RECONCILE_CONTRACT,
    ReconcileSettings,
    build_query,
    job_from_record,
    notification_id_for,
)
from mock_salesforce import deployment, soql

NOW = dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC).timestamp()
OPP15 = "0065g00000AbCdE"
#: The Opportunity of the repository's org bundle, as the mock org holds it.
SCHEMA = deployment.load(deployment.DEFAULT_BUNDLE).schema


def test_query_is_the_shape_the_org_accepts_and_selects_the_right_records() -> None:
    text = build_query(NOW - 3600, NOW - 60, "Order_Number__c")
    # the mock org's strict parser, on the repository bundle's Opportunity: it refuses
    # what a real org would (a quoted datetime is INVALID_FIELD, for one)
    query = soql.parse(text, SCHEMA)
    assert "Order_Number__c" in query.fields and "Amount" in query.fields
    base = {"IsWon": True, "Order_Number__c": None, "LastModifiedDate": NOW - 600}
    assert query.matches(base)
    assert not query.matches({**base, "IsWon": False})
    assert not query.matches({**base, "Order_Number__c": "SO-1"})
    assert not query.matches({**base, "LastModifiedDate": NOW - 7200})  # before the window
    assert not query.matches({**base, "LastModifiedDate": NOW - 30})  # too fresh


def test_record_becomes_a_notification_the_pipeline_orders_without_a_read() -> None:
    record = {
        "attributes": {"type": "Opportunity", "url": "/x"},
        "Id": OPP15,
        "Name": "Deal",
        "AccountId": "0015g00000XyZaBAAV",
        "Amount": 1200.5,
        "CloseDate": "2026-11-27",
        "IsWon": True,
        "StageName": "Closed Won",
        "Order_Number__c": None,
        "LastModifiedDate": "2026-11-27T19:00:00.000+0000",
    }
    job = job_from_record(
        record,
        organization_id="00D5g000004SfGwEAK",
        instance_url="https://acme.my.salesforce.com",
        api_version="62.0",
        now=NOW,
    )
    assert job.contract == RECONCILE_CONTRACT
    assert job.record_id == sfid.to18(OPP15)
    assert job.notification_id == notification_id_for(OPP15) == "RECONCILE-" + sfid.to18(OPP15)
    assert job.dedupe_key == ("00D5g000004SfGw", job.notification_id)
    assert job.partner_url == "https://acme.my.salesforce.com/services/Soap/u/62.0/00D5g000004SfGw"
    assert "attributes" not in job.fields and "LastModifiedDate" not in job.fields
    plan = plan_order(
        job.record_id, job.fields, order_number_field="Order_Number__c", currency_code="USD"
    )
    assert isinstance(plan, PlaceOrder)
    assert plan.request.external_reference == sfid.to18(OPP15)


def test_the_same_opportunity_always_gets_the_same_notification_id() -> None:
    assert notification_id_for(OPP15) == notification_id_for(sfid.to18(OPP15))


def test_bad_record_is_refused() -> None:
    with pytest.raises(ValueError, match="valid Id"):
        job_from_record(
            {"Id": "nope"}, organization_id="00D", instance_url="", api_version="62.0", now=NOW
        )


def test_since_accepts_durations_and_iso_times() -> None:
    """One parser for ``sfgw reconcile --since`` and ``sfgw dlq ... --since``."""
    assert parse_since("24h", NOW) == NOW - 24 * 3600
    assert parse_since("90m", NOW) == NOW - 5400
    assert parse_since("45s", NOW) == NOW - 45
    assert parse_since("2d", NOW) == NOW - 2 * 86400
    assert parse_since("2026-11-27T18:00", NOW) == NOW - 7200
    assert parse_since("2026-11-27T18:00Z", NOW) == NOW - 7200
    assert parse_since("2026-11-27T19:00+01:00", NOW) == NOW - 7200
    with pytest.raises(CommandError, match="ISO time"):
        parse_since("yesterday", NOW)


def test_settings_default_off_and_named_errors() -> None:
    settings = ReconcileSettings.from_env({})
    assert settings.interval_s == 0 and settings.min_age_s == 300
    assert settings.window_s == 25 * 3600 and settings.batch_size == 2000
    with pytest.raises(ConfigError, match="SFGW_RECONCILE_INTERVAL_S"):
        ReconcileSettings.from_env({"SFGW_RECONCILE_INTERVAL_S": "-1"})
    assert ReconcileSettings.from_env({"SFGW_RECONCILE_BATCH_SIZE": "200"}).batch_size == 200
    for outside in ("199", "2001"):  # Salesforce's documented range
        with pytest.raises(ConfigError, match="SFGW_RECONCILE_BATCH_SIZE"):
            ReconcileSettings.from_env({"SFGW_RECONCILE_BATCH_SIZE": outside})


def test_window_widens_to_whole_seconds_so_a_record_of_this_second_is_not_skipped() -> None:
    """SOQL datetimes have whole seconds: ``until`` rounds up, ``since`` down."""
    until = NOW + 0.4
    query = soql.parse(build_query(NOW - 59.6, until, "Order_Number__c"), SCHEMA)
    base = {"IsWon": True, "Order_Number__c": None}
    assert query.matches({**base, "LastModifiedDate": NOW + 0.2})  # same second, earlier
    assert query.matches({**base, "LastModifiedDate": NOW - 60})  # since, rounded down
    assert not query.matches({**base, "LastModifiedDate": NOW + 1.5})
