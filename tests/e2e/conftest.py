"""End-to-end harness: every part as a real process on loopback.

``Stack`` starts an embedded Redis of its own (so a test may restart or kill it), the
mock ERP, the gateway, the mock Salesforce (whose outbound messages POST to the gateway)
and the workers, and stops all of them, also on failure. ``wait_settled`` waits until
every won Opportunity carries its order number; ``assert_final_state`` checks the
acceptance state: one ERP order per Opportunity, every Opportunity updated with that
order's number and status, and no dead letters.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet

from gateway.embedded_redis import EmbeddedRedis
from gateway.intake.launch import RunningGateway, start_gateway
from gateway.pipeline.launch import RunningWorkers, start_workers
from gateway.pipeline.stores import DeadLetters
from gateway.settings import CoreSettings
from mock_erp.launch import RunningErp, start_mock_erp
from mock_salesforce.launch import RunningSalesforce, start_mock_salesforce

#: Short backoffs so retries happen within a test's time (the defaults are minutes).
FAST_RETRIES = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "2000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "2000",
    "SFGW_SF_TIMEOUT_MS": "10000",
    "SFGW_ERP_READ_TIMEOUT_S": "10",
    "SFGW_ERP_CONNECT_TIMEOUT_S": "5",
}


@dataclass(frozen=True)
class StackConfig:
    callback_api: str = "rest"
    contract: str = "opportunity_with_fields"
    session_ids: bool = False
    worker_processes: int = 2
    worker_threads: int = 8
    worker_env: Mapping[str, str] = field(default_factory=dict)
    salesforce_env: Mapping[str, str] = field(default_factory=dict)
    erp_faults: Mapping[str, Any] | None = None
    erp_workers: int = 2


@dataclass
class Stack:
    workdir: Path
    config: StackConfig
    redis_server: EmbeddedRedis
    prefix: str
    secret_key: str
    erp: RunningErp
    gateway: RunningGateway
    salesforce: RunningSalesforce
    workers: RunningWorkers | None = None

    @property
    def core(self) -> CoreSettings:
        return CoreSettings.from_env(self.core_env())

    def core_env(self) -> dict[str, str]:
        return {
            "SFGW_REDIS_URL": self.redis_server.url,
            "SFGW_REDIS_PREFIX": self.prefix,
            "SFGW_SECRET_KEY": self.secret_key,
        }

    def worker_env(self) -> dict[str, str]:
        env = {
            "SFGW_SECRET_KEY": self.secret_key,
            "SFGW_ERP_URL": self.erp.url,
            "SFGW_CALLBACK_API": self.config.callback_api,
            "SFGW_SF_LOGIN_URL": self.salesforce.url,
            "SFGW_SF_CLIENT_ID": self.salesforce.client_id,
            "SFGW_SF_CLIENT_SECRET": self.salesforce.client_secret,
            **FAST_RETRIES,
        }
        if self.config.session_ids:
            env["SFGW_SF_USE_SESSION_ID"] = "true"
            env["SFGW_SALESFORCE_HOSTS"] = "127.0.0.1"
        env.update(self.config.worker_env)
        return env

    def start_workers(self, name: str = "workers") -> RunningWorkers:
        self.workers = start_workers(
            self.workdir / name,
            redis_url=self.redis_server.url,
            redis_prefix=self.prefix,
            env=self.worker_env(),
            processes=self.config.worker_processes,
            threads=self.config.worker_threads,
            timeout=120,
        )
        return self.workers

    def erp_orders(self) -> dict[str, tuple[str, str]]:
        """external_reference -> (order number, status), read from the ERP's own store."""
        connection = sqlite3.connect(f"file:{self.erp.db_path}?mode=ro", uri=True, timeout=30)
        try:
            rows = connection.execute(
                "SELECT id, external_reference, status FROM orders"
            ).fetchall()
        finally:
            connection.close()
        return {ref: (f"SO-{row_id:06d}", status) for row_id, ref, status in rows}

    def erp_order_count(self) -> int:
        connection = sqlite3.connect(f"file:{self.erp.db_path}?mode=ro", uri=True, timeout=30)
        try:
            (count,) = connection.execute("SELECT COUNT(*) FROM orders").fetchone()
        finally:
            connection.close()
        return int(count)

    def dead_letters(self) -> list[Any]:
        client = redis.Redis.from_url(self.redis_server.url)
        try:
            return list(DeadLetters(client, self.core).iter())
        finally:
            client.close()

    def logs(self) -> str:
        parts = []
        if self.workers is not None:
            parts.append("--- workers ---\n" + self.workers.child.log_tail())
        parts.append("--- gateway ---\n" + self.gateway.child.log_tail())
        parts.append("--- salesforce ---\n" + self.salesforce.process.log_tail())
        parts.append("--- erp ---\n" + self.erp.child.log_tail())
        return "\n".join(parts)

    def wait_settled(self, ids: list[str], *, timeout: float = 180.0) -> None:
        """Until every Opportunity in ``ids`` carries an order number (or ``timeout``)."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        pending = len(wanted)
        while time.monotonic() < deadline:
            rows = self.salesforce.opportunities()
            pending = sum(1 for r in rows if r["Id"] in wanted and not _order_number(r))
            if pending == 0:
                return
            time.sleep(0.5)
        raise AssertionError(
            f"{pending} of {len(wanted)} Opportunities without an order number after "
            f"{timeout:.0f}s; dead letters: {[d.reason for d in self.dead_letters()][:5]}\n"
            + self.logs()
        )

    def assert_final_state(self, ids: list[str], *, dead_letters: int = 0) -> None:
        orders = self.erp_orders()
        missing = sorted(set(ids) - set(orders))[:5]
        extra = sorted(set(orders) - set(ids))[:5]
        assert set(orders) == set(ids), (
            f"ERP has {len(orders)} orders for {len(ids)} Opportunities: "
            f"missing {missing}, extra {extra}"
        )
        rows = {r["Id"]: r for r in self.salesforce.opportunities() if r["Id"] in set(ids)}
        assert len(rows) == len(ids)
        wrong = [
            (oid, _order_number(row), row.get("Order_Status__c"), orders[oid])
            for oid, row in rows.items()
            if (_order_number(row), row.get("Order_Status__c")) != orders[oid]
        ]
        assert not wrong, f"{len(wrong)} Opportunities disagree with the ERP: {wrong[:5]}"
        letters = self.dead_letters()
        assert len(letters) == dead_letters, [(d.stage, d.reason) for d in letters]

    def stop(self) -> None:
        for part in (self.workers, self.salesforce, self.gateway, self.erp):
            if part is not None:
                with contextlib.suppress(Exception):  # stop the rest anyway
                    part.stop()
        self.redis_server.kill()


def _order_number(row: Mapping[str, Any]) -> str | None:
    value = row.get("Order_Number__c")
    return str(value) if value else None


def start_stack(workdir: Path, config: StackConfig, *, workers: bool = True) -> Stack:
    """Start every part; on any failure stop what already runs and re-raise."""
    started: list[Any] = []
    redis_server = EmbeddedRedis(workdir / "redis").start()
    try:
        prefix = f"e2e-{uuid.uuid4().hex[:8]}"
        secret_key = Fernet.generate_key().decode()
        erp = start_mock_erp(workdir / "erp", faults=config.erp_faults, workers=config.erp_workers)
        started.append(erp)
        gateway = start_gateway(
            workdir / "gateway",
            redis_url=redis_server.url,
            redis_prefix=prefix,
            env={"SFGW_SECRET_KEY": secret_key},
        )
        started.append(gateway)
        salesforce = start_mock_salesforce(
            workdir / "salesforce",
            gateway_url=gateway.url,
            contract=config.contract,
            send_session_id=config.session_ids,
            time_scale=1000,
            env=dict(config.salesforce_env),
        )
        started.append(salesforce)
        stack = Stack(workdir, config, redis_server, prefix, secret_key, erp, gateway, salesforce)
        if workers:
            stack.start_workers()
        return stack
    except BaseException:
        for part in reversed(started):
            part.stop()
        redis_server.kill()
        raise


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Any]:
    """``stack_factory(StackConfig(...), workers=True)``; stopped after the test."""
    stacks: list[Stack] = []

    def make(config: StackConfig, *, workers: bool = True) -> Stack:
        stack = start_stack(tmp_path / f"stack{len(stacks)}", config, workers=workers)
        stacks.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in stacks:
            stack.stop()
