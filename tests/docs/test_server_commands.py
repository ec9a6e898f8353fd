"""The documented servers, started as the docs show them (on free ports), used, and stopped
with SIGTERM: ``sfgw serve`` fed by the mock Salesforce quick start, ``sfgw erp serve``
with the ERP client snippet, the fault document and the ``curl`` lines, and a user's
actor module under ``dramatiq``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import dramatiq
import psutil
import pytest
import requests

from devstack.processes import free_port
from devstack.stack import Stack
from gateway import sfid
from gateway.broker import ORDERS_QUEUE, BrokerSettings, QueueReader, make_broker
from gateway.jobs import NotificationJob
from gateway.settings import CoreSettings
from mock_salesforce.settings import DEFAULT_ORG_ID
from tests.docs.extract import all_fences
from tests.docs.runner import Docs, executes, running, substitute, wait_until

pytestmark = pytest.mark.slow

SF_SERVE = (
    "sfgw salesforce serve --bind 127.0.0.1:8400 --gateway-url http://127.0.0.1:8000 "
    "--time-scale 60"
)
SERVE = "sfgw serve --bind 0.0.0.0:8443 --workers 4"


def _deliveries(base_url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{base_url}/admin/deliveries", params={"all": "true"}, timeout=10)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows


def _workers_of(pid: int, expected: int) -> bool:
    """True when the gunicorn master ``pid`` (or one below it) has ``expected`` workers."""
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        return any(len(process.children()) == expected for process in tree)
    except psutil.NoSuchProcess:
        return False


@executes(
    SF_SERVE,
    "sfgw salesforce close-won --count 250",
    "sfgw salesforce deliveries",
    "sfgw salesforce opportunities",
    SERVE,
)
def test_mock_salesforce_quick_start_delivers_to_sfgw_serve(
    docs: Docs, stack: Stack, tmp_path: Path
) -> None:
    sf_port, gw_port = free_port(), free_port()
    sf_url = f"http://127.0.0.1:{sf_port}"
    salesforce = docs.start(
        SF_SERVE,
        {
            "127.0.0.1:8400": f"127.0.0.1:{sf_port}",
            "http://127.0.0.1:8000": f"http://127.0.0.1:{gw_port}",
        },
        cwd=tmp_path,  # the commands' default database: ./salesforce.sqlite3
        ready_url=f"{sf_url}/healthz",
    )
    with running(salesforce):
        won = docs.run("sfgw salesforce close-won --count 250", cwd=tmp_path).ok()
        assert won.strip() == "250 Opportunities moved to Closed Won"

        # The gateway is not up yet: each message fails, and Salesforce retries it.
        def all_tried() -> bool:
            rows = _deliveries(sf_url)
            return len(rows) == 3 and all(row["attempts"] >= 1 for row in rows)

        wait_until(all_tried, 30, "three failed first attempts")
        pending = docs.run("sfgw salesforce deliveries", cwd=tmp_path).ok()
        header, _, *rows = pending.splitlines()
        assert header.split()[:4] == ["MESSAGE", "DEFINITION", "STATUS", "NOTIFS"]
        assert sorted(int(row.split()[3]) for row in rows) == [50, 100, 100], pending
        assert all(" pending " in row and "Connection refused" in row for row in rows), pending

        prefix = "docs-serve"
        env = {
            "SFGW_REDIS_URL": stack.redis_url,
            "SFGW_REDIS_PREFIX": prefix,
            "SFGW_SECRET_KEY": stack.secret_key,
            "SFGW_ALLOWED_ORGS": DEFAULT_ORG_ID,
            "SFGW_METRICS_DIR": str(tmp_path / "metrics"),
        }
        gateway = docs.start(
            SERVE,
            {"0.0.0.0:8443": f"127.0.0.1:{gw_port}"},
            env=env,
            ready_url=f"http://127.0.0.1:{gw_port}/readyz",
        )
        with running(gateway):
            wait_until(lambda: _workers_of(gateway.pid, 4), 60, "4 gunicorn workers")

            def delivered() -> bool:
                return all(row["status"] == "delivered" for row in _deliveries(sf_url))

            wait_until(delivered, 90, "the three messages delivered to the gateway")
            client = stack.redis_client()
            try:
                ready = QueueReader(client, CoreSettings.from_env(env)).counts(ORDERS_QUEUE).ready
            finally:
                client.close()
            assert ready == 250
            assert gateway.stop() == 0, gateway.log()

        listing = docs.run("sfgw salesforce opportunities", cwd=tmp_path).ok()
        header, _, *rows = listing.splitlines()
        assert header.split()[:3] == ["ID", "NAME", "STAGE"]
        assert len(rows) == 250 and all("Closed Won" in row for row in rows), listing[-500:]
        assert salesforce.stop() == 0, salesforce.log()


ERP_SERVE = "sfgw erp serve --bind 127.0.0.1:8300 --db erp.sqlite3"
ERP_SERVE_FAULTS = (
    "sfgw erp serve --bind 127.0.0.1:8300 --db erp.sqlite3 --workers 3 --faults @faults.json"
)
ERP_CLIENT = (
    "python: settings = "
    "ErpSettings.from_env(None, contracts_dir=CoreSettings.from_env().contracts_dir)"
)
OPPORTUNITY = sfid.to18("0065g00000Docs1")


@executes(
    ERP_SERVE,
    ERP_CLIENT,
    "sfgw erp orders --db erp.sqlite3",
    "sfgw erp orders --db erp.sqlite3 --json",
)
def test_erp_serve_takes_the_client_snippets_order_and_lists_it(
    docs: Docs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    erp = docs.start(
        ERP_SERVE,
        {"127.0.0.1:8300": f"127.0.0.1:{port}"},
        cwd=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    with running(erp):
        monkeypatch.setenv("SFGW_ERP_URL", f"http://127.0.0.1:{port}/erp/orders")
        code = substitute(docs.python(ERP_CLIENT), {'"006..."': repr(OPPORTUNITY)})
        namespace: dict[str, Any] = {}
        exec(code, namespace)  # noqa: S102 - the documented snippet
        result = namespace["result"]
        assert (result.order_number, result.created) == ("SO-000001", True)
        again = namespace["client"].get_order(order_number="SO-000001")
        assert again is not None and again.external_reference == OPPORTUNITY

        table = docs.run("sfgw erp orders --db erp.sqlite3", cwd=tmp_path).ok()
        header, _, row = table.splitlines()
        assert header.split()[:3] == ["ORDER", "EXTERNAL", "REFERENCE"]
        assert row.split()[:5] == ["SO-000001", OPPORTUNITY, result.status, "10.00", "EUR"]

        [order] = json.loads(docs.run("sfgw erp orders --db erp.sqlite3 --json", cwd=tmp_path).ok())
        assert order["order_number"] == "SO-000001" and order["external_reference"] == OPPORTUNITY
        assert (order["amount"], order["currency_code"], order["close_date"]) == (
            "10.00",
            "EUR",
            "2026-11-30",
        )
        assert erp.stop() == 0, erp.log()


CURL_GET = "curl -s localhost:8300/__admin/faults"
CURL_503 = (
    "curl -s -X PUT localhost:8300/__admin/faults -d "
    """'{"error": {"rate": 0.5, "mode": "http503"}}'"""
)
CURL_DOWN = """curl -s -X PUT localhost:8300/__admin/faults -d '{"down": {"seconds": 10}}'"""
CURL_CLEAR = "curl -s -X PUT localhost:8300/__admin/faults -d '{}'"


def _documented_fault_document() -> dict[str, Any]:
    [fence] = [f for f in all_fences() if f.doc == "mock-erp.md" and f.language == "json"]
    document: dict[str, Any] = json.loads("\n".join(fence.lines))
    return document


@executes(ERP_SERVE_FAULTS, CURL_GET, CURL_503, CURL_CLEAR, CURL_DOWN)
def test_erp_serve_with_the_documented_faults_and_the_curl_lines(
    docs: Docs, tmp_path: Path
) -> None:
    faults = _documented_fault_document()
    # A down window at start-up would take the server away before anything can look at it;
    # the `down` curl line below exercises it.
    del faults["down"]
    (tmp_path / "faults.json").write_text(json.dumps(faults))
    port = free_port()
    erp = docs.start(
        ERP_SERVE_FAULTS,
        {"127.0.0.1:8300": f"127.0.0.1:{port}"},
        cwd=tmp_path,
        ready_url=f"http://127.0.0.1:{port}/healthz",
    )
    curl = {"localhost:8300": f"localhost:{port}"}
    with running(erp):
        wait_until(lambda: _workers_of(erp.pid, 3), 60, "3 gunicorn workers")
        shown = json.loads(docs.run(CURL_GET, curl).ok())["faults"]
        assert set(shown) == set(faults)
        assert shown["latency"]["ms"] == 200 and shown["error"]["rate"] == 0.1

        put = json.loads(docs.run(CURL_503, curl).ok())["faults"]
        assert put == {"error": {"rate": 0.5, "mode": "http503"}}
        assert json.loads(docs.run(CURL_CLEAR, curl).ok())["faults"] == {}

        down = json.loads(docs.run(CURL_DOWN, curl).ok())["faults"]
        assert down["down"]["until"] > time.time() + 5
        # The whole server goes away, the admin endpoint included: curl exit 7, refused.
        wait_until(lambda: docs.run(CURL_GET, curl).code == 7, 20, "the down window")
        assert erp.stop() == 0, erp.log()


ACTORS = "python: broker = make_broker(CoreSettings.from_env(), BrokerSettings.from_env())"


@executes(ACTORS)
def test_a_users_actor_module_runs_under_dramatiq(docs: Docs, stack: Stack, tmp_path: Path) -> None:
    code = docs.python(ACTORS)
    first = code.splitlines()[0]
    assert first == "# my_actors.py -- run with: dramatiq my_actors"
    received = tmp_path / "received.txt"
    record = (
        f"    with open({str(received)!r}, 'a') as out:\n"
        "        out.write(f\"{n.record_id} {n.fields['Status__c']}\\n\")\n"
    )
    (tmp_path / "my_actors.py").write_text(substitute(code, {"    ...\n": record}))

    env = {"SFGW_REDIS_URL": stack.redis_url, "SFGW_REDIS_PREFIX": "docs-actors"}
    # What the gateway enqueues for a contract without a handler (byte for byte what
    # dramatiq sends: tests/intake/test_core.py).
    job = NotificationJob(
        contract="shipment",
        organization_id=DEFAULT_ORG_ID,
        action_id=sfid.to18("04k5g000000Docs"),
        notification_id=sfid.to18("04l5g000000Docs"),
        object_type="Shipment__c",
        record_id=sfid.to18("a005g000000Docs"),
        fields={"Status__c": "Shipped"},
    )
    broker = make_broker(CoreSettings.from_env(env), BrokerSettings.from_env(env))
    try:
        broker.enqueue(
            dramatiq.Message(
                queue_name="shipment",
                actor_name="shipment",
                args=(job.to_dict(),),
                kwargs={},
                options={},
            )
        )
    finally:
        broker.close()
    worker = docs.start_line("dramatiq my_actors", env=env, cwd=tmp_path, ready_url=None)
    with running(worker):
        wait_until(received.exists, 60, lambda: f"the actor to run; its log:\n{worker.log()}")
        assert received.read_text() == f"{job.record_id} Shipped\n"
        assert worker.stop() == 0, worker.log()
