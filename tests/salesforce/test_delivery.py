"""Acceptance: the sender judges replies, retries and drops messages as Salesforce does.

Every test runs a real ``sfgw salesforce serve`` process (gunicorn API + sender) and a
tiny listener in the test; time is compressed with ``time_scale``.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from devstack.mocks import start_mock_salesforce
from gateway.soap import parse_envelope
from mock_salesforce.delivery import retry_delay
from mock_salesforce.sender import POLL_INTERVAL

from .conftest import Listener, outbound_schema

OUT = "{http://soap.sforce.com/2005/09/outbound}"
SOBJ = "{urn:sobject.enterprise.soap.sforce.com}"

EXPECTED_REASONS = {
    "json": "org.xml.sax.SAXParseException; Content is not allowed in prolog.",
    "empty": "org.xml.sax.SAXParseException; Premature end of file.",
    "nack": "SOAP response was a nack",
    "fault": "soapenv:Server: queue unavailable",
    "500": "(500)Internal Server Error",
    "timeout": "java.net.SocketTimeoutException: Read timed out",
}


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def record_ids(body: bytes) -> list[str]:
    payload = parse_envelope(body).payload
    return [n.findtext(f"{OUT}sObject/{SOBJ}Id") or "" for n in payload.iter(f"{OUT}Notification")]


def notification_ids(body: bytes) -> list[str]:
    payload = parse_envelope(body).payload
    return [n.findtext(f"{OUT}Id") or "" for n in payload.iter(f"{OUT}Notification")]


def test_replies_are_judged_and_retried_on_the_backoff_schedule(
    tmp_path: Path, listener: Listener
) -> None:
    scale = 1000.0  # 15 s -> 15 ms, 2 h -> 7.2 s, 60 s timeout -> floor below
    sf = start_mock_salesforce(
        tmp_path,
        gateway_url=None,
        time_scale=scale,
        env={"SFGW_MOCKSF_MIN_ATTEMPT_TIMEOUT": "0.5"},
    )
    try:
        modes = ["ack", *EXPECTED_REASONS]
        sf.set_definitions(
            [
                {
                    "name": f"om_{m}",
                    "contract": "opportunity_with_fields",
                    "endpoint_url": f"{listener.url}/{m}",
                }
                for m in modes
            ]
        )
        [oid] = sf.close_won(1)
        # The payload is the record's state at send time: rename it while retries go on.
        wait_for(lambda: len(listener.of("500")) >= 2, 30, "two attempts at /500")
        renamed_at = time.time()
        sf.update_opportunity(oid, Name="Renamed while queued")

        def retried_enough() -> bool:
            # 8 attempts: the gaps grow from 15 ms to about 1 s, so the last one is many
            # times the first even with the sender's 50 ms poll added to each; two /500
            # requests after the rename: the second was rendered after it for sure.
            rows = sf.deliveries(include_delivered=True)
            failing = [r for r in rows if r["definition"] != "om_ack"]
            after = [r for r in listener.of("500") if r.at > renamed_at]
            return (
                len(failing) == len(EXPECTED_REASONS)
                and len(after) >= 2
                and all(r["attempts"] >= 8 for r in failing)
            )

        wait_for(retried_enough, 60, "eight attempts of every failing definition")
        rows = {r["definition"]: r for r in sf.deliveries(include_delivered=True, attempts=True)}
    finally:
        sf.stop()

    ack = rows["om_ack"]
    assert ack["status"] == "delivered"
    assert ack["attempts"] == 1
    assert len(listener.of("ack")) == 1

    for mode, reason in EXPECTED_REASONS.items():
        row = rows[f"om_{mode}"]
        assert row["status"] == "pending", mode
        assert row["last_error"] == reason, mode
        assert row["attempts"] >= 8, (mode, row["attempts"])
        log = row["attempt_log"]
        assert all(a["reason"] == reason for a in log), mode
        # Never earlier than the schedule; the gaps grow.
        gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(log)]
        for n, gap in enumerate(gaps, start=1):
            assert gap >= retry_delay(n) / scale * 0.95, (mode, n, gap)
        if mode != "timeout":
            assert gaps[-1] > gaps[0] * 4, (mode, gaps)
        # Every retry carries the same (stable) notification id.
        ids = {tuple(notification_ids(r.body)) for r in listener.of(mode)}
        assert len(ids) == 1, mode

    names = [parse_envelope(r.body).payload.findtext(f".//{SOBJ}Name") for r in listener.of("500")]
    assert names[0] != "Renamed while queued"
    assert names[-1] == "Renamed while queued"


def test_messages_older_than_24_hours_are_dropped_and_reported(
    tmp_path: Path, listener: Listener
) -> None:
    scale = 20000.0  # 24 h -> 4.3 s
    sf = start_mock_salesforce(tmp_path, gateway_url=f"{listener.url}/500", time_scale=scale)
    try:
        sf.set_definitions(
            [
                {
                    "name": "om",
                    "contract": "opportunity_id_only",
                    "endpoint_url": f"{listener.url}/500",
                }
            ]
        )
        sf.close_won(2)
        rows = wait_for(
            lambda: [r for r in sf.deliveries() if r["status"] == "dropped"],
            60,
            "a dropped message",
        )
        assert rows[0]["age"] >= 24 * 3600 / scale
        assert rows[0]["attempts"] >= 5
        assert rows[0]["last_error"] == "(500)Internal Server Error"
        attempts_when_dropped = len(listener.of("500"))
        # No sends after the drop: wait until the retry the schedule would have made
        # (after the last attempt's delay, plus two sender polls) has had its chance.
        [dropped] = [r for r in sf.deliveries(attempts=True) if r["id"] == rows[0]["id"]]
        log = dropped["attempt_log"]
        would_retry_at = log[-1]["at"] + retry_delay(len(log)) / scale + 2 * POLL_INTERVAL
        wait_for(lambda: time.time() > would_retry_at, 30, "the retry that must not come")
        assert len(listener.of("500")) == attempts_when_dropped
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "salesforce",
                "deliveries",
                "--db",
                str(sf.db_path),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert [r["status"] for r in json.loads(cli.stdout)] == ["dropped"]
        table = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "salesforce",
                "deliveries",
                "--db",
                str(sf.db_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "dropped" in table.stdout and "(500)Internal Server Error" in table.stdout
    finally:
        sf.stop()


def test_250_won_opportunities_go_out_as_100_100_50_and_validate(
    tmp_path: Path, listener: Listener, repo_root: Path
) -> None:
    sf = start_mock_salesforce(tmp_path, gateway_url=None, time_scale=1000.0)
    try:
        sf.set_definitions(
            [
                {
                    "name": "with_fields",
                    "contract": "opportunity_with_fields",
                    "endpoint_url": f"{listener.url}/ack/with_fields",
                },
                {
                    "name": "id_only_legacy",
                    "contract": "opportunity_id_only",
                    "endpoint_url": f"{listener.url}/ack/id_only",
                    "include_session_id": True,
                },
            ]
        )
        ids = sf.close_won(250)
        rows = sf.wait_delivered(timeout=90)
        assert sorted(r["notifications"] for r in rows if r["definition"] == "with_fields") == [
            50,
            100,
            100,
        ]
        assert all(r["attempts"] == 1 and r["status"] == "delivered" for r in rows)
        received = listener.of("ack")
        assert len(received) == 6

        schemas = {}
        for name in ("opportunity_with_fields", "opportunity_id_only"):
            workdir = tmp_path / f"xsd_{name}"
            workdir.mkdir()
            schemas[name] = outbound_schema(
                repo_root / "contracts/salesforce" / f"{name}.wsdl", workdir
            )
        seen: dict[str, set[str]] = {"with_fields": set(), "id_only": set()}
        session_ids = []
        for message in received:
            kind = message.path.rstrip("/").split("/")[-1]
            contract = "opportunity_with_fields" if kind == "with_fields" else "opportunity_id_only"
            payload = parse_envelope(message.body).payload
            schemas[contract].assertValid(
                etree.ElementTree(etree.fromstring(etree.tostring(payload)))
            )
            assert payload.findtext(f"{OUT}OrganizationId") == sf.org_id
            session = payload.find(f"{OUT}SessionId")
            assert session is not None
            if kind == "id_only":
                assert session.text and session.text.startswith(sf.org_id[:15] + "!")
                session_ids.append(session.text)
            else:
                assert session.get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
            for sobject in payload.iter(f"{OUT}sObject"):
                assert sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type", "").endswith(
                    ":Opportunity"
                )
                seen[kind].add(sobject.findtext(f"{SOBJ}Id") or "")
            if kind == "with_fields":
                assert payload.findtext(f".//{SOBJ}StageName") == "Closed Won"
                assert payload.findtext(f".//{SOBJ}IsWon") == "true"
        assert seen["with_fields"] == set(ids) == seen["id_only"]
        # Legacy mode: each message carries a fresh, working SessionId.
        assert len(set(session_ids)) == 3
        response = requests.get(
            f"{sf.url}/services/data/v62.0/sobjects/Opportunity/{ids[0]}",
            headers={"Authorization": f"Bearer {session_ids[0]}"},
            timeout=30,
        )
        assert response.status_code == 200
        assert response.json()["IsWon"] is True
    finally:
        sf.stop()


def test_chaos_from_the_start_up_settings_split_and_redeliver(
    tmp_path: Path, listener: Listener
) -> None:
    """SFGW_MOCKSF_CHAOS_* are the start-up values of the chaos probabilities: split
    every batch and redeliver every acked message, until the fault document (set on the
    running org) says otherwise. The org's own records prove both happened."""
    sf = start_mock_salesforce(
        tmp_path,
        gateway_url=None,
        time_scale=1000.0,
        env={"SFGW_MOCKSF_CHAOS_SPLIT": "1.0", "SFGW_MOCKSF_CHAOS_REDELIVER": "1.0"},
    )
    try:
        sf.set_definitions(
            [
                {
                    "name": "om",
                    "contract": "opportunity_id_only",
                    "endpoint_url": f"{listener.url}/ack",
                }
            ]
        )
        ids = sf.close_won(10)
        wait_for(
            lambda: sum(r["redeliveries"] for r in sf.deliveries(include_delivered=True)) >= 2,
            30,
            "redeliveries",
        )
        sf.set_faults(chaos_redeliver=0.0)  # the running org stops redelivering
        rows = sf.wait_delivered(timeout=30, notifications=10)
        fired = sf.fired()
    finally:
        sf.stop()
    assert sorted(r["notifications"] for r in rows) != [10] and len(rows) == 2  # split once
    assert sum(r["notifications"] for r in rows) == 10
    redeliveries = sum(r["redeliveries"] for r in rows)
    assert redeliveries >= 2
    assert (fired["chaos_split"], fired["chaos_redeliver"]) == (1, redeliveries)
    bodies = listener.of("ack")
    assert len(bodies) == sum(r["attempts"] for r in rows) == len(rows) + redeliveries
    batches = {tuple(notification_ids(r.body)) for r in bodies}
    assert len(batches) == 2 and sum(len(b) for b in batches) == 10
    received = {sid for r in bodies for sid in record_ids(r.body)}
    assert received == set(ids)


def test_two_servers_on_one_database_never_send_a_message_twice(
    tmp_path: Path, listener: Listener
) -> None:
    # A generous per-attempt timeout: on a loaded machine a slow (not lost) reply would be
    # a legitimate timeout-and-redeliver, which is not what this test is about.
    patient = {"SFGW_MOCKSF_MIN_ATTEMPT_TIMEOUT": "20"}
    first = start_mock_salesforce(
        tmp_path, gateway_url=None, time_scale=1000.0, workers=1, env=patient
    )
    second = None
    try:
        second = start_mock_salesforce(
            tmp_path, gateway_url=None, time_scale=1000.0, workers=1, env=patient
        )
        first.set_definitions(
            [
                {
                    "name": "om",
                    "contract": "opportunity_id_only",
                    "endpoint_url": f"{listener.url}/ack",
                }
            ]
        )
        for _ in range(5):
            first.close_won(20)
            second.close_won(20)
        rows = first.wait_delivered(timeout=60, notifications=200)
    finally:
        first.stop()
        if second is not None:
            second.stop()
    ids = [i for r in listener.of("ack") for i in notification_ids(r.body)]
    assert len(ids) == 200 == len(set(ids))
    assert sum(r["notifications"] for r in rows) == 200
