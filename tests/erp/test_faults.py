"""Each fault mode against a real server: what the client sees, how it is classified, and
the server's own counters (``fired``) proving that the fault fired exactly as often as
the test made it fire."""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from devstack.mocks import RunningErp, start_mock_erp
from gateway.erp import ErpError, ErpRetryableError
from gateway.orders import OrderRequest
from mock_erp.store import OrderStore

from .conftest import ClientFactory, new_reference
from .test_contract import post


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """The counters that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def orders_for(erp: RunningErp, ref: str) -> int:
    store = OrderStore(erp.db_path)
    try:
        return 1 if store.by_reference(ref) is not None else 0
    finally:
        store.close()


def test_fixed_latency_delays_but_succeeds(erp: RunningErp, make_client: ClientFactory) -> None:
    client = make_client(erp.url)
    erp.set_faults({"latency": {"distribution": "fixed", "ms": 400}})
    before = erp.fired()
    started = time.monotonic()
    result = client.create_order(OrderRequest(external_reference=new_reference()))
    assert time.monotonic() - started >= 0.4
    assert result.created
    assert moved(before, erp.fired()) == {"requests": 1, "latency": 1}


def test_faults_are_seen_by_every_worker(erp: RunningErp) -> None:
    """Latency + error rate 1: four concurrent calls occupy both sync workers, all fail."""
    erp.set_faults(
        {"latency": {"distribution": "uniform", "min_ms": 600, "max_ms": 800}, "error": {"rate": 1}}
    )
    ref = new_reference()
    payload = (
        '<CreateOrder xmlns="urn:example:erp:orders:v1">'
        f"<ExternalReference>{ref}</ExternalReference></CreateOrder>"
    )
    before = erp.fired()
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: post(erp, payload), range(4)))
    assert moved(before, erp.fired()) == {"requests": 4, "latency": 4, "error_unavailable": 4}
    assert all(r.status_code == 500 and b"UnavailableFault" in r.content for r in responses)
    assert len({r.headers["X-Mock-Erp-Worker"] for r in responses}) == 2
    assert orders_for(erp, ref) == 0
    assert erp.get_faults()["faults"]["error"] == {"rate": 1.0, "mode": "unavailable"}


def test_http_503_is_retryable(erp: RunningErp, make_client: ClientFactory) -> None:
    client = make_client(erp.url)
    ref = new_reference()
    erp.set_faults({"error": {"rate": 1, "mode": "http503"}})
    before = erp.fired()
    with pytest.raises(ErpRetryableError) as info:
        client.create_order(OrderRequest(external_reference=ref))
    assert "HTTP 503" in info.value.reason
    assert orders_for(erp, ref) == 0
    assert moved(before, erp.fired()) == {"requests": 1, "error_http503": 1}


def test_slow_response_times_out_then_retry_finds_the_order(
    erp: RunningErp, make_client: ClientFactory
) -> None:
    client = make_client(erp.url, read_timeout_s=1.0)
    ref = new_reference()
    erp.set_faults({"slow_response": {"rate": 1, "seconds": 3}})
    before = erp.fired()
    started = time.monotonic()
    with pytest.raises(ErpRetryableError) as info:
        client.create_order(OrderRequest(external_reference=ref))
    assert time.monotonic() - started < 2.9
    assert "no response within 1s" in info.value.reason
    assert orders_for(erp, ref) == 1  # committed before the (late) answer
    assert moved(before, erp.fired()) == {"requests": 1, "slow_response": 1}
    erp.set_faults()
    retry = client.create_order(OrderRequest(external_reference=ref))
    assert retry.created is False
    assert moved(before, erp.fired()) == {"requests": 2, "slow_response": 1, "create_replayed": 1}
    assert client.get_order(external_reference=ref) == retry


def test_commit_then_drop_then_retry_yields_the_original_order(
    erp: RunningErp, make_client: ClientFactory
) -> None:
    client = make_client(erp.url)
    ref = new_reference()
    erp.set_faults({"drop_after_commit": {"rate": 1}})
    before = erp.fired()
    with pytest.raises(ErpRetryableError) as info:
        client.create_order(OrderRequest(external_reference=ref))
    assert "closed the connection without a response" in info.value.reason
    assert moved(before, erp.fired()) == {"requests": 1, "drop_after_commit": 1}
    stored = OrderStore(erp.db_path).by_reference(ref)
    assert stored is not None
    erp.set_faults()
    retry = client.create_order(OrderRequest(external_reference=ref))
    assert (retry.order_number, retry.created) == (stored.order_number, False)
    assert orders_for(erp, ref) == 1
    assert moved(before, erp.fired()) == {
        "requests": 2, "drop_after_commit": 1, "create_replayed": 1,
    }  # fmt: skip


def test_startup_faults_apply_from_the_first_request(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    server = start_mock_erp(tmp_path, faults={"error": {"rate": 1}})
    try:
        client = make_client(server.url)
        with pytest.raises(ErpRetryableError):
            client.create_order(OrderRequest(external_reference=new_reference()))
        assert server.get_faults()["faults"]["error"]["rate"] == 1.0
        # a fresh server: its counters hold exactly that one refused request
        assert moved({}, server.fired()) == {"requests": 1, "error_unavailable": 1}
    finally:
        server.stop()


def _refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def test_down_window_refuses_connections_then_recovers(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    server = start_mock_erp(tmp_path)
    try:
        port = int(server.url.split(":")[2].split("/")[0])
        client = make_client(server.url, connect_timeout_s=2)
        before = client.create_order(OrderRequest(external_reference=new_reference()))
        server.set_faults({"down": {"seconds": 6}})
        seen: ErpError | None = None
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and seen is None:
            if _refused(port):
                try:
                    client.create_order(OrderRequest(external_reference=new_reference()))
                except ErpRetryableError as error:
                    if "connection refused" in error.reason:
                        seen = error
            time.sleep(0.1)
        assert seen is not None, "the client never saw connection refused"
        assert seen.retryable
        server.wait_ready(timeout=60)
        again = client.get_order(order_number=before.order_number)
        assert again is not None and again.external_reference == before.external_reference
        assert server.fired()["down_windows"] == 1  # one window, taken once
    finally:
        server.stop()


def test_a_store_busy_beyond_its_timeout_is_unavailable_and_counted(
    tmp_path: Path, make_client: ClientFactory
) -> None:
    """Another writer holds the store's write lock for longer than the server waits
    (SFGW_ERP_BUSY_TIMEOUT_MS=300): the order is refused as retryable, not lost, and the
    server counts it; once the lock is gone the same order goes through."""
    server = start_mock_erp(tmp_path, env={**os.environ, "SFGW_ERP_BUSY_TIMEOUT_MS": "300"})
    holder = sqlite3.connect(server.db_path, isolation_level=None)
    try:
        client = make_client(server.url)
        ref = new_reference()
        holder.execute("BEGIN IMMEDIATE")  # the write lock, held by someone else
        with pytest.raises(ErpRetryableError) as info:
            client.create_order(OrderRequest(external_reference=ref))
        assert "store is busy" in info.value.reason
        assert moved({}, server.fired()) == {"requests": 1, "store_busy": 1}
        holder.execute("ROLLBACK")
        assert client.create_order(OrderRequest(external_reference=ref)).created
        assert moved({}, server.fired()) == {"requests": 2, "store_busy": 1}
    finally:
        holder.close()
        server.stop()
