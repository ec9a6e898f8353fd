"""What the multi-host tests look at: ERP orders, Opportunities, the org's deliveries, the
balancer's log, the processes' metrics, and a probe of whether a gateway acks.

Everything that crosses the network runs on the mocks host (``Topology.on_mocks``); the
ERP's and the org's SQLite files are read directly (one file system for all hosts).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from devstack.metrics import metric_total, read_metrics
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings
from mock_salesforce.outbound import render_message
from mock_salesforce.store import OrgStore
from tests.hosts.topology import CONTRACT, GATEWAY_PORT, METRICS_PORT, Topology

POLL_S = 0.25


def erp_orders(topology: Topology) -> dict[str, tuple[str, str]]:
    """external reference (Opportunity id) -> (order number, status)."""
    assert topology.erp is not None
    connection = sqlite3.connect(f"file:{topology.erp.db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute("SELECT id, external_reference, status FROM orders").fetchall()
    finally:
        connection.close()
    return {ref: (f"SO-{row_id:06d}", status) for row_id, ref, status in rows}


def erp_order_count(topology: Topology) -> int:
    assert topology.erp is not None
    connection = sqlite3.connect(f"file:{topology.erp.db_path}?mode=ro", uri=True, timeout=30)
    try:
        ((count,),) = connection.execute("SELECT COUNT(*) FROM orders").fetchall()
    finally:
        connection.close()
    return int(count)


def opportunities(topology: Topology, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    assert topology.salesforce is not None
    wanted = set(ids)
    rows = topology.on_mocks(topology.salesforce.opportunities)
    return {row["Id"]: row for row in rows if row["Id"] in wanted}


def close_won(topology: Topology, count: int) -> list[str]:
    assert topology.salesforce is not None
    return topology.on_mocks(topology.salesforce.close_won, count)


def unsettled(topology: Topology, ids: Iterable[str]) -> int:
    """How many of ``ids`` carry no order number yet."""
    rows = opportunities(topology, ids)
    return sum(1 for oid in set(ids) if not (rows.get(oid) or {}).get("Order_Number__c"))


def wait_settled(topology: Topology, ids: list[str], timeout: float) -> float:
    """Seconds until every Opportunity in ``ids`` carries an order number."""
    started = time.monotonic()
    while (left := unsettled(topology, ids)) > 0:
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"{left} of {len(ids)} Opportunities unsettled after {timeout} s: "
                f"{explain(topology, ids)}"
            )
        time.sleep(POLL_S)
    return time.monotonic() - started


def explain(topology: Topology, ids: list[str]) -> dict[str, Any]:
    """Where the unsettled ones of ``ids`` are: ERP order or not, the org's deliveries,
    the queues."""
    rows = opportunities(topology, ids)
    stuck = [oid for oid in ids if not (rows.get(oid) or {}).get("Order_Number__c")]
    orders = erp_orders(topology)
    assert topology.salesforce is not None
    statuses: dict[str, int] = {}
    for row in topology.on_mocks(topology.salesforce.deliveries, include_delivered=True):
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    return {
        "unsettled": stuck[:5],
        "of_them_with_an_erp_order": sum(1 for oid in stuck if oid in orders),
        "org_messages": statuses,
        "dead_letters": dead_letters(topology),
        "pipeline": pipeline_status(topology),
    }


def dead_letters(topology: Topology) -> int:
    core = CoreSettings.from_env({**topology.redis_env, "SFGW_REDIS_PREFIX": "sfgw"})
    return topology.on_mocks(lambda: DeadLetters(topology.redis(), core).count())


def waiting_in_wait(topology: Topology, ip: str) -> bool:
    """Whether a client from ``ip`` is blocked in ``WAIT`` on the master now (its write
    is in Redis, its ack not yet given). Run it on the mocks host."""
    return any(
        client["addr"].startswith(f"{ip}:") and client["cmd"] == "wait" and "b" in client["flags"]
        for client in topology.redis().client_list()
    )


def pipeline_status(topology: Topology) -> dict[str, Any]:
    """What ``sfgw status --json`` says: queues, in flight, coalesced callbacks."""
    from gateway.pipeline.status import read_status

    core = CoreSettings.from_env({**topology.redis_env, "SFGW_REDIS_PREFIX": "sfgw"})
    status = topology.on_mocks(
        lambda: read_status(topology.redis(), core, window_s=86400, heartbeat_timeout_ms=4000)
    )
    return status.to_dict()


def undelivered(topology: Topology) -> list[dict[str, Any]]:
    """The org's messages that are not delivered (pending or dropped)."""
    assert topology.salesforce is not None
    rows = topology.on_mocks(topology.salesforce.deliveries, include_delivered=True)
    return [row for row in rows if row["status"] != "delivered"]


def assert_one_order_each(topology: Topology, ids: list[str], orders_before: int) -> None:
    """Exactly one new ERP order per Opportunity, no other, and every Opportunity
    carrying its own order's number and status."""
    orders = erp_orders(topology)
    missing = sorted(set(ids) - set(orders))
    assert not missing, f"{len(missing)} Opportunities without an ERP order: {missing[:5]}"
    assert erp_order_count(topology) == orders_before + len(ids), "an extra ERP order"
    rows = opportunities(topology, ids)
    wrong = [
        oid for oid in ids
        if (rows[oid].get("Order_Number__c"), rows[oid].get("Order_Status__c")) != orders[oid]
    ]  # fmt: skip
    assert not wrong, f"{len(wrong)} Opportunities disagree with the ERP: {wrong[:5]}"


def balancer_log(topology: Topology) -> list[dict[str, Any]]:
    path = topology.workdir / "mocks" / "balancer.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metric(topology: Topology, url: str, name: str, **labels: str) -> float:
    return metric_total(topology.on_mocks(read_metrics, url, 5.0), name, **labels)


def gateway_notifications(topology: Topology, host: str, result: str) -> float:
    """Notifications in messages the gateway acked, ``new`` or ``duplicate``."""
    url = f"{topology.gateway_url(host)}/metrics"
    return metric(topology, url, "sfgw_intake_notifications_total", result=result)


def worker_orders_done(topology: Topology, host: str) -> float:
    """Order jobs this worker host finished (done or found done already)."""
    url = f"http://{topology.ip(host)}:{METRICS_PORT}/metrics"
    samples = topology.on_mocks(read_metrics, url, 5.0)
    return sum(
        metric_total(samples, "sfgw_pipeline_jobs_total", stage="orders", outcome=outcome)
        for outcome in ("done", "skipped")
    )


@dataclass
class Probe:
    """Posts an already delivered notification to each gateway, again and again.

    A duplicate enqueues nothing new but, with ``SFGW_REDIS_MIN_REPLICAS``, is acked
    only once the replicas confirmed it: an ack says the gateway can ack at all.
    """

    topology: Topology
    body: bytes = b""
    timeline: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        assert self.topology.salesforce is not None
        store = OrgStore(self.topology.salesforce.db_path)
        try:
            row = store.db.execute(
                "SELECT n.id, n.opportunity_id, n.definition_id FROM notifications n "
                "JOIN messages m ON m.id = n.message_id WHERE m.status = 'delivered' LIMIT 1"
            ).fetchone()
            assert row is not None, "no delivered notification to probe with"
            base = self.topology.salesforce.url
            self.body = render_message(
                contract=CONTRACT, org_id=self.topology.salesforce.org_id,
                action_id=row["definition_id"], session_id=None,
                enterprise_url=f"{base}/services/Soap/c/62.0", partner_url=f"{base}/u",
                notifications=[(row["id"], row["opportunity_id"])],
                records=store.get_many([row["opportunity_id"]]),
            )  # fmt: skip
        finally:
            store.close()

    def acks(self, host: str, timeout: float = 3.0) -> bool:
        """One post, from the mocks host: acked?"""
        return self.topology.on_mocks(self._post, host, timeout)

    def _post(self, host: str, timeout: float) -> bool:
        url = f"http://{self.topology.ip(host)}:{GATEWAY_PORT}/salesforce/outbound/{CONTRACT}"
        try:
            reply = requests.post(url, data=self.body, timeout=timeout,
                                  headers={"Content-Type": "text/xml"})  # fmt: skip
        except requests.RequestException:
            return False
        return reply.status_code == 200 and b"<Ack>true</Ack>" in reply.content

    def start(self, hosts: Iterable[str], every_s: float = 0.2) -> None:
        """Probe each host from now on, on the mocks host, until :meth:`stop`."""
        for host in hosts:
            self.timeline[host] = []
            assert self.topology.mocks is not None
            self.topology.mocks.submit(self._run, host, every_s)

    def _run(self, host: str, every_s: float) -> None:
        while not self._stop.is_set():
            acked = self._post(host, 3.0)
            self.timeline[host].append((time.monotonic(), acked))  # when the reply came
            self._stop.wait(every_s)

    def stop(self) -> None:
        self._stop.set()

    def back_after(self, since: float) -> Mapping[str, float | None]:
        """Per host: seconds from ``since`` to the reply of its first ack after a failure
        since then (0.0 when it never failed; ``None`` when it has not acked again)."""
        result: dict[str, float | None] = {}
        for host, points in self.timeline.items():
            after = [(at, ok) for at, ok in points if at >= since]
            failed = next((i for i, (_, ok) in enumerate(after) if not ok), None)
            if failed is None:
                result[host] = 0.0
                continue
            again = next((at for at, ok in after[failed:] if ok), None)
            result[host] = None if again is None else again - since
        return result
