"""The order stage's ERP: the real client, as the stage's ``OrderService``, against a real
mock ERP process, and how the stage's policy reads its errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from devstack.mocks import RunningErp, start_mock_erp
from gateway import sfid
from gateway.erp import ErpClient, ErpPermanentError, ErpRetryableError, ErpSettings
from gateway.orders import OrderRequest
from gateway.pipeline.orders import OrderService
from gateway.pipeline.policy import Permanent, Retry, RetryPolicy, classify
from gateway.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

POLICY = RetryPolicy(
    retry_for_ms=60_000, min_backoff_ms=100, max_backoff_ms=1000, limit_backoff_ms=1000
)


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningErp]:
    running = start_mock_erp(Path(tmp_path_factory.mktemp("erp")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def service(erp: RunningErp) -> Iterator[OrderService]:
    erp.set_faults()
    settings = ErpSettings.from_env(
        {"SFGW_ERP_URL": erp.url, "SFGW_ERP_READ_TIMEOUT_S": "2"},
        contracts_dir=PROJECT_ROOT / "contracts",
    )
    client = ErpClient(settings)
    try:
        yield client
    finally:
        client.close()


def _draft(n: int, **changes: object) -> OrderRequest:
    values: dict[str, object] = {
        "external_reference": sfid.to18(f"0065g0000{n:06d}"),
        "customer_reference": "0015g00000XyZaBAAV",
        "title": f"Deal {n}",
        "amount": Decimal("1250.50"),
        "currency_code": "EUR",
        "close_date": date(2026, 11, 27),
    }
    values.update(changes)
    return OrderRequest(**values)  # type: ignore[arg-type]


def test_one_order_per_opportunity(service: OrderService) -> None:
    first = service.create_order(_draft(1))
    again = service.create_order(_draft(1, title="Renamed"))
    assert first.created and not again.created
    assert first.order_number == again.order_number and first.order_number.startswith("SO-")
    assert first.status == again.status != ""


def test_validation_fault_is_permanent(service: OrderService) -> None:
    with pytest.raises(ErpPermanentError) as caught:
        service.create_order(_draft(2, amount=Decimal("1.005")))
    decision = classify(caught.value, 0, POLICY)
    assert isinstance(decision, Permanent)
    assert "Amount" in decision.reason


def test_slow_erp_is_retryable(erp: RunningErp, service: OrderService) -> None:
    erp.set_faults(slow_response={"rate": 1.0, "seconds": 4})
    with pytest.raises(ErpRetryableError) as caught:
        service.create_order(_draft(3))
    assert isinstance(classify(caught.value, 0, POLICY), Retry)
    erp.set_faults()
    # the slow request was committed by the ERP after the client left: same order now
    assert not service.create_order(_draft(3)).created
