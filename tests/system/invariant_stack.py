"""The whole system as real processes, started once and shared by many model examples.

Redis (embedded, append-only, ``appendfsync always``, restartable on the same port and
data directory), the mock ERP, the gateway (gunicorn), the mock Salesforce (sending to
the gateway, with its chaos knobs on) and the pipeline's workers (dramatiq). Starting
this takes ~10-20 s on the 2-core machine, far too slow per hypothesis example, so the
state machine namespaces its examples by fresh Opportunities and notification ids
instead, and every example ends with the queues drained and the faults cleared.

Timing settings are shortened so that an example's faults heal in seconds: retries start
after 200 ms and back off to 2 s at most; a SIGKILLed worker's messages come back after
a 4 s heartbeat timeout (maintenance on 20 % of broker calls).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests
from cryptography.fernet import Fernet

from devstack.embedded_redis import EmbeddedRedis
from devstack.launch import RunningGateway, RunningWorkers, start_gateway, start_workers
from devstack.mocks import RunningErp, RunningSalesforce, start_mock_erp, start_mock_salesforce
from devstack.processes import ChildProcess, free_port, wait_for_http

CONTRACT = "opportunity_with_fields"
QUEUE_KEYS = ("orders.msgs", "orders.DQ.msgs", "callbacks.msgs", "callbacks.DQ.msgs")

#: Pipeline/broker timing for the model: faults must heal within an example.
WORKER_TIMING = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "200",
    "SFGW_RETRY_MAX_BACKOFF_MS": "2000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "2000",
    "SFGW_BROKER_HEARTBEAT_TIMEOUT_MS": "4000",
    "SFGW_BROKER_MAINTENANCE_CHANCE": "200000",
    "SFGW_ERP_CONNECT_TIMEOUT_S": "2",
    "SFGW_ERP_READ_TIMEOUT_S": "10",
    "SFGW_SF_TIMEOUT_MS": "10000",
}

#: The mock Salesforce's own chaos: redeliver acked messages, reorder, split batches.
SALESFORCE_CHAOS = {
    "SFGW_MOCKSF_CHAOS_REDELIVER": "0.3",
    "SFGW_MOCKSF_CHAOS_REORDER": "0.5",
    "SFGW_MOCKSF_CHAOS_SPLIT": "0.3",
}


@dataclass
class Stack:
    workdir: Path
    prefix: str
    redis_server: EmbeddedRedis
    erp: RunningErp
    gateway: RunningGateway
    salesforce: RunningSalesforce
    workers: RunningWorkers | None
    worker_env: dict[str, str]
    extra_gateways: list[ChildProcess] = field(default_factory=list)
    _worker_runs: int = 0

    # -- process control ---------------------------------------------------------------

    @property
    def workers_up(self) -> bool:
        return self.workers is not None

    def kill_workers(self) -> None:
        """SIGKILL the whole worker group: in-flight messages stay in its ack set until
        the broker's maintenance gives them back (heartbeat timeout)."""
        if self.workers is not None:
            self.workers.kill()
            self.workers.stop()
            self.workers = None

    def start_workers(self) -> None:
        if self.workers is None:
            self._worker_runs += 1
            self.workers = start_workers(
                self.workdir / f"workers-{self._worker_runs}",
                redis_url=self.redis_server.url,
                redis_prefix=self.prefix,
                env=self.worker_env,
                processes=1,
                threads=4,
                timeout=90,
            )

    def crash_redis(self) -> None:
        """SIGKILL redis-server: only what reached the append-only file survives."""
        self.redis_server.kill()

    def start_redis(self) -> None:
        if self.redis_server.child is None:
            self.redis_server.start(timeout=60)

    @property
    def redis_up(self) -> bool:
        return self.redis_server.child is not None

    def stop(self) -> None:
        for stop in (
            self.kill_workers,
            self.salesforce.stop,
            self.gateway.stop,
            *(child.stop for child in self.extra_gateways),
            self.erp.stop,
            self.redis_server.stop,
        ):
            with contextlib.suppress(Exception):
                stop()

    # -- observation -------------------------------------------------------------------

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.redis_server.url, socket_timeout=10, socket_connect_timeout=5
        )

    def erp_orders(self) -> dict[str, list[str]]:
        """External reference -> order numbers, straight from the mock ERP's SQLite file."""
        uri = f"file:{self.erp.db_path}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            rows = connection.execute("SELECT external_reference, id FROM orders").fetchall()
        finally:
            connection.close()
        orders: dict[str, list[str]] = {}
        for reference, row_id in rows:
            orders.setdefault(str(reference), []).append(f"SO-{int(row_id):06d}")
        return orders

    def salesforce_acked(self) -> set[tuple[str, str]]:
        """(notification id, Opportunity id) of every notification the mock Salesforce
        sent in a message that the gateway answered with Ack=true (at least once)."""
        uri = f"file:{self.salesforce.db_path}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            rows = connection.execute(
                "SELECT n.id, n.opportunity_id FROM notifications n WHERE n.message_id IN "
                "(SELECT message_id FROM attempts WHERE ok = 1)"
            ).fetchall()
        finally:
            connection.close()
        return {(str(n), str(o)) for n, o in rows}

    def salesforce_pending(self) -> int:
        """Notifications the mock Salesforce still has to (re)deliver."""
        uri = f"file:{self.salesforce.db_path}?mode=ro"
        connection = sqlite3.connect(uri, uri=True, timeout=30)
        try:
            (unassigned,) = connection.execute(
                "SELECT COUNT(*) FROM notifications WHERE message_id IS NULL"
            ).fetchone()
            (pending,) = connection.execute(
                "SELECT COUNT(*) FROM messages WHERE status = 'pending'"
            ).fetchone()
        finally:
            connection.close()
        return int(unassigned) + int(pending)

    def opportunities(self) -> dict[str, dict[str, Any]]:
        return {row["Id"]: row for row in self.salesforce.opportunities()}

    def dead_letters_cli(self) -> list[dict[str, Any]]:
        """``sfgw dlq list --json``: what an operator sees."""
        import json
        import subprocess

        env = dict(os.environ)
        env.update(
            {
                "SFGW_REDIS_URL": self.redis_server.url,
                "SFGW_REDIS_PREFIX": self.prefix,
                "SFGW_SECRET_KEY": self.worker_env["SFGW_SECRET_KEY"],
            }
        )
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "dlq", "list", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"sfgw dlq list --json failed: {result.stderr.strip()}")
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]

    def queues_empty(self, client: redis.Redis) -> bool:
        ns = self.key("dramatiq")
        return all(int(client.hlen(f"{ns}:{k}")) == 0 for k in QUEUE_KEYS)

    def queue_report(self) -> str:
        """Where the undrained messages are: bodies, ready lists, delayed, ack sets
        (per worker broker id, with that worker's last heartbeat)."""
        ns = self.key("dramatiq")
        client: Any = redis.Redis.from_url(
            self.redis_server.url, socket_timeout=10, decode_responses=True
        )
        try:
            lines = []
            now_ms = time.time() * 1000
            for queue in ("orders", "callbacks"):
                bodies = client.hgetall(f"{ns}:{queue}.msgs")
                ids = {k: _job_ids(v) for k, v in bodies.items()}
                ready = client.lrange(f"{ns}:{queue}", 0, -1)
                delayed = client.hlen(f"{ns}:{queue}.DQ.msgs")
                lines.append(f"{queue}: bodies {ids}; ready {ready}; delayed {delayed}")
            beats = {
                k: round((now_ms - score) / 1000, 1)
                for k, score in client.zrange(f"{ns}:__heartbeats__", 0, -1, withscores=True)
            }
            for key in client.scan_iter(match=f"{ns}:__acks__.*", count=500):
                members = client.smembers(key)
                if members:
                    broker_id = key.split("__acks__.", 1)[1].rsplit(".", 1)[0]
                    age = beats.get(broker_id, "?")
                    lines.append(f"ack set {key}: {members} (owner's heartbeat {age} s ago)")
            return "\n".join(lines)
        except redis.RedisError as error:
            return f"(Redis unreadable: {error})"
        finally:
            client.close()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the mock Salesforce has nothing left to send and every queue
        (ready, delayed, in flight) is empty, twice in a row half a second apart."""
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            try:
                client = self.client()
                try:
                    idle = self.salesforce_pending() == 0 and self.queues_empty(client)
                finally:
                    client.close()
            except redis.RedisError:
                idle = False
            quiet = quiet + 1 if idle else 0
            if quiet >= 2:
                return True
            time.sleep(0.5)
        return False

    def start_planted_gateway(self, bug: str) -> str:
        """A second gateway on the same Redis running ``tests.system.planted_wsgi`` with
        ``SFGW_TEST_PLANTED_BUG=<bug>``; returns its outbound URL for ``CONTRACT``."""
        port = free_port()
        env = dict(os.environ)
        env.update(
            {
                "SFGW_REDIS_URL": self.redis_server.url,
                "SFGW_REDIS_PREFIX": self.prefix,
                "SFGW_ALLOWED_ORGS": "*",
                "SFGW_WORKERS": "1",
                "SFGW_BIND": f"127.0.0.1:{port}",
                "SFGW_METRICS_DIR": str(self.workdir / f"planted-{bug}-metrics"),
                "SFGW_TEST_PLANTED_BUG": bug,
            }
        )
        child = ChildProcess(
            name=f"planted gateway :{port}",
            argv=[
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:gateway.intake.gunicorn_conf",
                "tests.system.planted_wsgi:build()",
            ],
            env=env,
            log_path=self.workdir / f"planted-{bug}.log",
        ).start()
        self.extra_gateways.append(child)
        wait_for_http(child, f"http://127.0.0.1:{port}/healthz", timeout=90)
        return f"http://127.0.0.1:{port}/salesforce/outbound/{CONTRACT}"

    def point_salesforce_at(self, outbound_url: str) -> None:
        """Make the mock Salesforce send its outbound messages to ``outbound_url``."""
        url = f"{self.salesforce.url}/admin/definitions"
        current = requests.get(url, timeout=30).json()
        self.salesforce.set_definitions(
            [
                {
                    "name": d["name"],
                    "contract": d["contract"],
                    "endpoint_url": outbound_url,
                    "include_session_id": d["include_session_id"],
                }
                for d in current
            ]
        )


def start_stack(workdir: Path, *, env: Mapping[str, str] | None = None) -> Stack:
    """Start everything (stopping what started if any part fails)."""
    workdir.mkdir(parents=True, exist_ok=True)
    prefix = f"sfgw-model-{uuid.uuid4().hex[:8]}"
    secret_key = Fernet.generate_key().decode()
    started: list[Any] = []
    try:
        server = EmbeddedRedis(data_dir=workdir / "redis").start(timeout=60)
        started.append(server)
        erp = start_mock_erp(workdir / "erp", workers=2)
        started.append(erp)
        gateway = start_gateway(
            workdir / "gateway",
            redis_url=server.url,
            redis_prefix=prefix,
            env={"SFGW_SECRET_KEY": secret_key, **(env or {})},
            workers=2,
            timeout=90,
        )
        started.append(gateway)
        salesforce = start_mock_salesforce(
            workdir / "salesforce",
            gateway_url=gateway.url,
            contract=CONTRACT,
            time_scale=1000,
            env=SALESFORCE_CHAOS,
            startup_timeout=90,
        )
        started.append(salesforce)
        worker_env = {
            "SFGW_SECRET_KEY": secret_key,
            "SFGW_ERP_URL": erp.url,
            "SFGW_SF_LOGIN_URL": salesforce.url,
            "SFGW_SF_CLIENT_ID": salesforce.client_id,
            "SFGW_SF_CLIENT_SECRET": salesforce.client_secret,
            **WORKER_TIMING,
            **(env or {}),
        }
        stack = Stack(
            workdir=workdir,
            prefix=prefix,
            redis_server=server,
            erp=erp,
            gateway=gateway,
            salesforce=salesforce,
            workers=None,
            worker_env=worker_env,
        )
        stack.start_workers()
    except BaseException:
        for part in reversed(started):
            with contextlib.suppress(Exception):
                part.stop()
        raise
    return stack


@contextlib.contextmanager
def running_stack(workdir: Path, *, env: Mapping[str, str] | None = None) -> Iterator[Stack]:
    stack = start_stack(workdir, env=env)
    try:
        yield stack
    finally:
        stack.stop()


def _job_ids(raw: str) -> str:
    """``actor org15/notification -> record (retries)`` of an encoded Dramatiq message."""
    import json

    try:
        data = json.loads(raw)
        job = data["args"][0]
        record = job.get("record_id") or job.get("opportunity_id")
        org = str(job.get("organization_id"))[:15]
        retries = data["options"].get("retries", 0)
        notification = job.get("notification_id")
        return f"{data['actor_name']} {org}/{notification} -> {record} (retries {retries})"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "(not a job)"


def post(url: str, body: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """POST a SOAP message as Salesforce does; (status, body), or (0, b"") on no answer."""
    try:
        response = requests.post(
            url,
            data=body,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            timeout=timeout,
        )
    except requests.RequestException:
        return 0, b""
    return response.status_code, response.content
