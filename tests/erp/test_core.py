"""The functional core without a server: fault documents, plans, validation, the store."""

from __future__ import annotations

import random
import sqlite3
import statistics
import threading
from decimal import Decimal
from pathlib import Path

import falcon.testing
import pytest

from generated.erp_orders import CreateOrder
from mock_erp.app import create_app, wsdl_for
from mock_erp.faults import FaultConfigError, Latency, loads_faults, parse_faults, plan
from mock_erp.service import ValidationProblem, validate_create
from mock_erp.store import NewOrder, OrderStore

from .conftest import ERP_WSDL, REPO, new_reference


def test_fault_document_round_trips_and_down_seconds_become_absolute() -> None:
    doc = {
        "latency": {"distribution": "uniform", "min_ms": 10, "max_ms": 20},
        "error": {"rate": 0.5, "mode": "http503"},
        "slow_response": {"rate": 1, "seconds": 3},
        "drop_after_commit": {"rate": 0.25},
        "down": {"seconds": 10},
    }
    config = parse_faults(doc, now=1000.0)
    assert config.down_until == 1010.0
    again = loads_faults(config.dumps(), now=5000.0)
    assert again == config


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({"eror": {}}, "unknown field(s) eror"),
        ({"error": {"rate": 2}}, "error.rate=2"),
        ({"error": {"rate": 1, "mode": "teapot"}}, "error.mode"),
        ({"latency": {"distribution": "normal"}}, "latency.distribution"),
        ({"latency": {"ms": "x"}}, "latency.ms must be a number"),
        ({"slow_response": {"seconds": 1000}}, "slow_response.seconds"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_fault_documents_are_named(doc: object, needle: str) -> None:
    with pytest.raises(FaultConfigError, match=None) as info:
        parse_faults(doc, now=0)
    assert needle in str(info.value)


def test_plan_follows_rates() -> None:
    config = parse_faults({"error": {"rate": 0.3}, "drop_after_commit": {"rate": 0.1}}, now=0)
    rng = random.Random(7)
    plans = [plan(config, rng) for _ in range(5000)]
    errors = sum(p.error == "unavailable" for p in plans) / len(plans)
    drops = sum(p.drop_after_commit for p in plans) / len(plans)
    assert 0.25 < errors < 0.35
    assert 0.07 < drops < 0.13
    assert all(p.delay_s == 0 and p.slow_s == 0 for p in plans)


def test_latency_distributions() -> None:
    rng = random.Random(3)
    assert Latency("fixed", ms=250).sample_s(rng) == 0.25
    uniform = [Latency("uniform", min_ms=10, max_ms=30).sample_s(rng) for _ in range(2000)]
    assert min(uniform) >= 0.010
    assert max(uniform) <= 0.030
    expo = [Latency("exponential", mean_ms=100).sample_s(rng) for _ in range(4000)]
    assert 0.085 < statistics.mean(expo) < 0.115
    capped = [Latency("exponential", mean_ms=100, max_ms=50).sample_s(rng) for _ in range(500)]
    assert max(capped) <= 0.050


def test_validation_rules() -> None:
    ref = new_reference()
    ok = validate_create(
        CreateOrder(external_reference=ref, amount=Decimal("12.50"), currency_code="EUR")
    )
    assert ok.external_reference == ref
    cases = [
        # "9" never appears in a checksum suffix (its alphabet is A-Z and 0-5).
        (CreateOrder(external_reference=ref[:17] + "9"), "INVALID_REFERENCE"),
        (CreateOrder(external_reference=ref[:15]), "INVALID_REFERENCE"),
        (
            CreateOrder(external_reference=ref, amount=Decimal("-1"), currency_code="EUR"),
            "INVALID_AMOUNT",
        ),
        (
            CreateOrder(external_reference=ref, amount=Decimal("1.001"), currency_code="EUR"),
            "INVALID_AMOUNT",
        ),
        (CreateOrder(external_reference=ref, amount=Decimal("1")), "MISSING_CURRENCY"),
        (CreateOrder(external_reference=ref, currency_code="eur"), "INVALID_CURRENCY"),
        (CreateOrder(external_reference=ref, title="x" * 256), "TOO_LONG"),
    ]
    for request, code in cases:
        with pytest.raises(ValidationProblem) as info:
            validate_create(request)
        assert info.value.code == code


def test_store_is_idempotent_across_threads(tmp_path: Path) -> None:
    store = OrderStore(tmp_path / "s.db").initialise()
    refs = [new_reference() for _ in range(5)]
    results: list[tuple[str, str, bool]] = []
    lock = threading.Lock()

    def hammer(ref: str) -> None:
        local = OrderStore(tmp_path / "s.db")
        order, created = local.create_order(NewOrder(external_reference=ref))
        with lock:
            results.append((ref, order.order_number, created))

    threads = [threading.Thread(target=hammer, args=(refs[i % 5],)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.count() == 5
    assert sum(created for _, _, created in results) == 5
    by_ref: dict[str, set[str]] = {}
    for ref, number, _ in results:
        by_ref.setdefault(ref, set()).add(number)
    assert all(len(numbers) == 1 for numbers in by_ref.values())
    # The UNIQUE constraint, not the code path, is what guarantees it.
    with pytest.raises(sqlite3.IntegrityError):
        sqlite3.connect(tmp_path / "s.db").execute(
            "INSERT INTO orders (external_reference, status, created_at) "
            "VALUES (?, 'Created', 'x')",
            (refs[0],),
        )


def test_wsdl_address_is_rewritten() -> None:
    out = wsdl_for(ERP_WSDL.read_bytes(), "http://example.test:9/erp/orders")
    assert b'location="http://example.test:9/erp/orders"' in out
    assert b"127.0.0.1:8300" not in out


def test_admin_endpoint_refuses_non_loopback_clients(tmp_path: Path) -> None:
    app = create_app(tmp_path / "a.db", REPO / "contracts")
    client = falcon.testing.TestClient(app)
    remote = client.simulate_get("/__admin/faults", remote_addr="10.1.2.3")
    assert remote.status_code == 403
    remote_put = client.simulate_put(
        "/__admin/faults", json={"error": {"rate": 1}}, remote_addr="192.168.0.9"
    )
    assert remote_put.status_code == 403
    assert client.simulate_get("/__admin/faults", remote_addr="127.0.0.1").json["faults"] == {}
    local = client.simulate_put("/__admin/faults", json={"error": {"rate": 1}}, remote_addr="::1")
    assert local.status_code == 200
    bad = client.simulate_put(
        "/__admin/faults", json={"error": {"rate": 9}}, remote_addr="127.0.0.1"
    )
    assert bad.status_code == 400
    assert "error.rate" in bad.json["description"]
