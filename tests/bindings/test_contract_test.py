"""`sfgw bindings test`: passes on the corpus, and catches an intake that was broken on
purpose with a shrunk example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.intake import validate
from tests.conftest import GeneratedContracts


def sfgw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def _redis_env(redis_url: str) -> dict[str, str]:
    """The tests' own Redis (the command then uses a throwaway prefix on it)."""
    return {"SFGW_REDIS_URL": redis_url}


def _embedded(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Run in this process with an embedded server of the command's own: its checks scan
    the keyspace for stray keys, which is cheapest on a server nobody else writes to."""
    monkeypatch.delenv("SFGW_REDIS_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_the_contract_test_passes_on_every_corpus_wsdl(
    file_corpus: GeneratedContracts, redis_url: str
) -> None:
    result = sfgw(
        {**file_corpus.env, **_redis_env(redis_url)},
        "bindings",
        "test",
        "--examples",
        "40",
        "--seed",
        "7",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[2:] if line.strip()}
    for name in ("shipment", "acme_shipment", "ping", "account", "field_sampler"):
        assert name in rows and rows[name].rstrip().endswith("ok"), result.stdout
    assert "Shipment__c / ShipmentC" in rows["shipment"]
    assert "all 10 contract(s) passed" in result.stdout
    # every mutation kind was tried on the corpus as a whole
    for kind in ("wrong org", "bad id checksum", "wrong xsi:type", "unknown element"):
        assert kind in result.stdout


def test_it_needs_no_redis_server(file_corpus: GeneratedContracts) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SFGW_REDIS_URL"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "bindings", "test", "--contract", "ping"],
        env={**env, **file_corpus.env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "embedded Redis" in result.stderr


def test_a_gateway_that_stops_checking_the_org_fails_with_a_shrunk_example(
    file_corpus: GeneratedContracts,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _embedded(monkeypatch, file_corpus.env)
    # the planted bug: every org is on the allowlist
    monkeypatch.setattr(validate, "_in_allowlist", lambda value, allowed: True)
    code = main(["bindings", "test", "--contract", "shipment", "--examples", "60", "--seed", "3"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED shipment: wrong org: a message with wrong org was acked" in out
    assert "shrunk example" in out and "<OrganizationId>" in out
    assert "reproduce: sfgw bindings test --contract shipment --examples 60 --seed 3" in out
    # shrunk: one notification is enough to show it
    example = out.split("shrunk example", 1)[1]
    assert example.count("<Notification>") == 1


def test_a_gateway_that_drops_a_field_fails(
    file_corpus: GeneratedContracts,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _embedded(monkeypatch, file_corpus.env)
    real = validate.record_fields

    def lossy(record, id_fields):  # type: ignore[no-untyped-def]
        fields = real(record, id_fields)
        if isinstance(fields, dict):
            fields.pop("Carrier__c", None)
        return fields

    monkeypatch.setattr(validate, "record_fields", lossy)
    code = main(["bindings", "test", "--contract", "shipment", "--examples", "30", "--seed", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "field Carrier__c was sent as" in out and "queued as '<absent>'" in out


def test_an_unknown_contract_is_one_line(file_corpus: GeneratedContracts) -> None:
    result = sfgw(file_corpus.env, "bindings", "test", "--contract", "nope")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "sfgw: error: --contract nope: no such outbound-message contract; known: account, "
        "acme_shipment, case, contact, field_sampler, i360_appointment, lead, "
        "opportunity_closed_won, ping, shipment"
    ]


def test_examples_must_be_positive(tmp_path: Path) -> None:
    result = sfgw({}, "bindings", "test", "--examples", "0")
    assert result.returncode == 2
    assert "is not a positive whole number" in result.stderr
