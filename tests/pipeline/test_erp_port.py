"""The pipeline's ERP port over the real zeep client, against a real mock ERP process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from devstack.mocks import RunningErp, start_mock_erp
from gateway import sfid
from gateway.erp import ErpPermanentError, ErpRetryableError
from gateway.pipeline.erp_port import ErpOrderService
from gateway.pipeline.policy import OrderDraft, Permanent, Retry, RetryPolicy, classify

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
def service(erp: RunningErp, monkeypatch: pytest.MonkeyPatch) -> ErpOrderService:
    monkeypatch.setenv("SFGW_ERP_URL", erp.url)
    monkeypatch.setenv("SFGW_ERP_READ_TIMEOUT_S", "2")
    erp.set_faults()
    return ErpOrderService()


def _draft(n: int, **changes: object) -> OrderDraft:
    values: dict[str, object] = {
        "external_reference": sfid.to18(f"0065g0000{n:06d}"),
        "customer_reference": "0015g00000XyZaBAAR",
        "title": f"Deal {n}",
        "amount": Decimal("1250.50"),
        "currency_code": "EUR",
        "close_date": date(2026, 11, 27),
    }
    values.update(changes)
    return OrderDraft(**values)  # type: ignore[arg-type]


def test_one_order_per_opportunity(service: ErpOrderService) -> None:
    first = service.create_order(_draft(1))
    again = service.create_order(_draft(1, title="Renamed"))
    assert first.created and not again.created
    assert first.order_number == again.order_number and first.order_number.startswith("SO-")
    assert first.status == again.status != ""


def test_validation_fault_is_permanent(service: ErpOrderService) -> None:
    with pytest.raises(ErpPermanentError) as caught:
        service.create_order(_draft(2, amount=Decimal("1.005")))
    decision = classify(caught.value, 0, POLICY)
    assert isinstance(decision, Permanent)
    assert "Amount" in decision.reason


def test_slow_erp_is_retryable(erp: RunningErp, service: ErpOrderService) -> None:
    erp.set_faults(slow_response={"rate": 1.0, "seconds": 4})
    with pytest.raises(ErpRetryableError) as caught:
        service.create_order(_draft(3))
    assert isinstance(classify(caught.value, 0, POLICY), Retry)
    erp.set_faults()
    # the slow request was committed by the ERP after the client left: same order now
    assert not service.create_order(_draft(3)).created
