"""The functional core without sockets: validation, JSON values, addresses, settings."""

from __future__ import annotations

import ipaddress
import math
import subprocess
import sys
import uuid
from pathlib import Path

import dramatiq
import pytest

from gateway import lexical, sfid
from gateway.bindings.binder import ContractBinder
from gateway.broker import encode_messages, message_for
from gateway.config import ConfigError
from gateway.intake.network import client_address, is_allowed
from gateway.intake.settings import IntakeSettings
from gateway.intake.validate import (
    ContractSpec,
    Rejection,
    Rules,
    read_records,
    validate_notifications,
)
from gateway.jobs import NotificationJob
from gateway.routes import Route
from gateway.soap import parse_envelope
from gateway.uuids import new_message_ids
from tests.intake.messages import ACTION, ORG, OTHER_ORG, shape, simple_message

CONTRACT = "opportunity_with_fields"
BINDER = ContractBinder(f"generated.{CONTRACT}")
SPEC = ContractSpec.from_shape(
    CONTRACT,
    shape(CONTRACT),
    BINDER.type_class("{urn:sobject.enterprise.soap.sforce.com}Opportunity"),
)


def run(body: bytes, rules: Rules | None = None) -> list[object] | Rejection:
    payload = parse_envelope(body).payload
    records = read_records(payload)
    bound = BINDER.bind(
        payload, BINDER.element_class("{http://soap.sforce.com/2005/09/outbound}notifications")
    )
    return validate_notifications(  # type: ignore[return-value]
        bound,
        records,
        SPEC,
        rules or Rules(allowed_orgs=(sfid.to15(ORG),)),
        received_at="2026-01-01T00:00:00.000+00:00",
        seal=lambda s: f"sealed({len(s)})",
    )


def test_accepts_and_normalises_ids() -> None:
    message = simple_message(2, org=sfid.to15(ORG))
    message.records[0].notification_id = message.records[0].notification_id[:15]
    message.records[0].fields["AccountId"] = "001000000000001"
    jobs = run(message.xml())
    assert not isinstance(jobs, Rejection)
    job = jobs[0]
    assert job.organization_id == ORG  # type: ignore[attr-defined]
    assert job.notification_id == sfid.to18(message.records[0].notification_id)  # type: ignore[attr-defined]
    # a field keeps the form it was sent in; typed access normalises it
    assert job.fields["AccountId"] == "001000000000001"  # type: ignore[attr-defined]
    assert lexical.as_id(job.fields["AccountId"]) == sfid.to18("001000000000001")  # type: ignore[attr-defined]


def test_a_bad_id_checksum_in_a_reference_field_is_refused() -> None:
    message = simple_message(1)
    good = sfid.to18("001000000000001")
    message.records[0].fields["AccountId"] = good[:15] + ("ZZZ" if good[15:] != "ZZZ" else "AAA")
    result = run(message.xml())
    assert isinstance(result, Rejection) and result.code == "bad_id"
    assert "AccountId" in result.reason


def test_values_keep_the_lexical_form_they_came_in() -> None:
    message = simple_message(1)
    sent = {
        "Amount": "1.20E5",
        "CloseDate": "2017-04-03Z",
        "IsWon": "1",
        "LastModifiedDate": "2014-05-05T11:47:49.000Z",
        "Name": "  spaced  ",
    }
    message.records[0].fields.update(sent)
    jobs = run(message.xml())
    assert not isinstance(jobs, Rejection)
    fields = jobs[0].fields  # type: ignore[attr-defined]
    for name, value in sent.items():
        assert fields[name] == value
    assert lexical.as_decimal(fields["Amount"]) == 120000
    assert lexical.as_bool(fields["IsWon"]) is True


def test_nil_and_absent_fields_differ() -> None:
    message = simple_message(1)
    message.records[0].fields["Amount"] = None
    del message.records[0].fields["StageName"]
    jobs = run(message.xml())
    assert not isinstance(jobs, Rejection)
    fields = jobs[0].fields  # type: ignore[attr-defined]
    assert fields["Amount"] is None
    assert "StageName" not in fields


def test_session_id_is_sealed_not_copied() -> None:
    jobs = run(simple_message(1, session_id="00D7F00000107Xs!secret").xml())
    assert not isinstance(jobs, Rejection)
    assert jobs[0].session_id_encrypted == "sealed(22)"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("rules", "org", "code"),
    [
        (Rules(allowed_orgs=(sfid.to15(ORG),)), OTHER_ORG, "wrong_org"),
        (Rules(allowed_orgs=None), OTHER_ORG, None),
        (Rules(allowed_orgs=None, allowed_actions=(sfid.to15(ORG),)), ORG, "wrong_action"),
        (Rules(allowed_orgs=None, allowed_actions=(sfid.to15(ACTION),)), ORG, None),
    ],
)
def test_allowlists(rules: Rules, org: str, code: str | None) -> None:
    result = run(simple_message(1, org=org).xml(), rules)
    assert (result.code if isinstance(result, Rejection) else None) == code


def test_account_typed_record_that_binds_as_opportunity_is_rejected() -> None:
    body = simple_message(1).xml().replace(b"sf:Opportunity", b"sf:Account")
    result = run(body)
    assert isinstance(result, Rejection) and result.code == "wrong_type"


def test_non_finite_doubles_keep_their_lexical_form() -> None:
    message = simple_message(1)
    message.records[0].fields["Amount"] = "NaN"
    jobs = run(message.xml())
    assert not isinstance(jobs, Rejection)
    amount = jobs[0].fields["Amount"]  # type: ignore[attr-defined]
    assert amount == "NaN" and not (isinstance(amount, float) and math.isnan(amount))


NET = [ipaddress.ip_network("10.0.0.0/8")]
PROXY = [ipaddress.ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "xff", "trusted", "expected"),
    [
        ("10.0.0.1", None, [], "10.0.0.1"),
        ("127.0.0.1", "10.1.1.1", [], "127.0.0.1"),  # untrusted peer: header ignored
        ("127.0.0.1", "10.1.1.1", PROXY, "10.1.1.1"),
        ("127.0.0.1", "10.1.1.1, 127.0.0.1", PROXY, "10.1.1.1"),  # chained trusted proxies
        ("127.0.0.1", "10.1.1.1, 8.8.8.8", PROXY, "8.8.8.8"),  # spoofed left part ignored
        ("127.0.0.1", "junk", PROXY, None),
    ],
)
def test_client_address(peer: str, xff: str | None, trusted: list, expected: str | None) -> None:  # type: ignore[type-arg]
    address = client_address(peer, xff, trusted)
    assert (str(address) if address else None) == expected


def test_is_allowed() -> None:
    assert is_allowed(ipaddress.ip_address("10.2.3.4"), NET)
    assert not is_allowed(ipaddress.ip_address("11.2.3.4"), NET)
    assert not is_allowed(None, NET)
    assert is_allowed(None, [])


def env(**extra: str) -> dict[str, str]:
    return {"SFGW_ALLOWED_ORGS": ORG, **extra}


def test_routes_default_explicit_and_override() -> None:
    settings = IntakeSettings.from_env(env(SFGW_ROUTE_OPPORTUNITY_ID_ONLY="deals:sync_deal"))
    orders = Route("orders", "process_notification")
    assert settings.route_for("opportunity_with_fields", "Opportunity") == orders
    assert settings.route_for("won_deals", "Opportunity") == orders  # by object, not file
    assert settings.route_for("opportunity_id_only", "Opportunity") == Route("deals", "sync_deal")
    assert settings.route_for("shipment", "Shipment__c") == Route("shipment", "shipment")
    with pytest.raises(ConfigError, match="SFGW_ROUTE_NOPE"):
        IntakeSettings.from_env(env(SFGW_ROUTE_NOPE="x")).check_routes(["opportunity_id_only"])
    with pytest.raises(ConfigError, match="QUEUE:ACTOR"):
        IntakeSettings.from_env(env(SFGW_ROUTE_X="bad queue"))


def test_settings_refuse_unsafe_or_broken_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SFGW_ALLOWED_ORGS is not set"):
        IntakeSettings.from_env({})
    with pytest.raises(ConfigError, match="SFGW_ALLOWED_ORGS"):
        IntakeSettings.from_env({"SFGW_ALLOWED_ORGS": "00Dnope"})
    assert IntakeSettings.from_env({"SFGW_ALLOWED_ORGS": "*"}).allowed_orgs is None
    with pytest.raises(ConfigError, match="SFGW_TLS_CERT and SFGW_TLS_KEY"):
        IntakeSettings.from_env(env(SFGW_TLS_CERT=__file__))
    with pytest.raises(ConfigError, match="SFGW_MAX_BODY_BYTES"):
        IntakeSettings.from_env(env(SFGW_MAX_BODY_BYTES="12"))


def test_serve_with_bad_settings_fails_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "serve", "--bind", "127.0.0.1:1"],
        env={"PATH": "/usr/bin:/bin", "SFGW_REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SFGW_ALLOWED_ORGS" in lines[0]


def test_encoded_job_is_what_dramatiq_itself_would_send() -> None:
    job = NotificationJob(
        contract=CONTRACT,
        organization_id=ORG,
        action_id=ACTION,
        notification_id=sfid.to18("04l000000000001"),
        object_type="Opportunity",
        record_id=sfid.to18("006000000000001"),
        fields={"Amount": 1.5, "CloseDate": "2026-01-01", "Name": None},
    )
    (data,) = encode_messages("orders", "p", [job.to_dict()], ["rid"])
    ours = dramatiq.Message.decode(data)
    theirs = message_for("orders", "p", job.to_dict(), "rid")._replace(
        message_id=ours.message_id, message_timestamp=ours.message_timestamp
    )
    assert data == theirs.encode()
    assert NotificationJob.from_dict(ours.args[0]) == job


def test_batch_encoding_is_byte_for_byte_dramatiq() -> None:
    """The template encoder must give exactly ``Message(...).encode()`` for every job,
    also when the shared values change between jobs and need JSON escaping."""
    jobs = [
        NotificationJob(
            contract=CONTRACT,
            organization_id=ORG,
            action_id=ACTION,
            notification_id=sfid.to18(f"04l00000000000{n}"),
            object_type="Opportunity",
            record_id=None if n == 2 else sfid.to18(f"00600000000000{n}"),
            fields={"Amount": 1.5 * n, "Name": 'Caf\u00e9 "quoted" \\ \n', "IsWon": n == 1},
            enterprise_url="https://e.example/\u2603" if n == 3 else "https://e.example/",
            session_id_encrypted=None if n < 3 else "sealed",
            received_at="2026-01-01T00:00:00.000+00:00",
        )
        for n in range(1, 5)
    ]
    payloads = [job.to_dict() for job in jobs]
    encoded = encode_messages(
        "orders", "process_notification", payloads, [f"rid-{n}" for n in range(4)]
    )
    ids = [dramatiq.Message.decode(data).message_id for data in encoded]
    assert len(set(ids)) == 4
    for n, (job, data) in enumerate(zip(jobs, encoded, strict=True)):
        decoded = dramatiq.Message.decode(data)
        theirs = message_for("orders", "process_notification", job.to_dict(), f"rid-{n}")
        theirs = theirs._replace(
            message_id=decoded.message_id, message_timestamp=decoded.message_timestamp
        )
        assert data == theirs.encode()
        assert NotificationJob.from_dict(decoded.args[0]) == job


def test_batched_uuids_are_version_4_uuids_as_dramatiq_formats_them() -> None:
    ids = new_message_ids(300)
    assert len(set(ids)) == 300
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value  # str(uuid.uuid4()) form: lower-case hex, dashes
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert new_message_ids(0) == []
    # every bit outside version and variant still varies (no constant leaks in)
    bits = [uuid.UUID(value).int for value in ids]
    fixed = (0xF << 76) | (0x3 << 62)
    varying_or = 0
    for value in bits:
        varying_or |= value ^ bits[0]
    assert varying_or == ((1 << 128) - 1) & ~fixed
