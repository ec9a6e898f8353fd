"""docs/demo.md's inspect commands, docs/operations.md's dead-letter, reconcile and worker
commands, and docs/demo.md's python snippet, run against the one package stack."""

from __future__ import annotations

import json
import re
import textwrap
from typing import Any

import pytest

from devstack.demo_report import inspect_commands
from devstack.mocks import RunningSalesforce
from devstack.processes import free_port
from devstack.stack import Stack
from gateway.pipeline.stores import DeadLetters
from tests.docs.conftest import FAST_RETRIES
from tests.docs.runner import Docs, executes, running, substitute, wait_until

pytestmark = pytest.mark.slow

DEMO_DIR = "/tmp/sfgw-demo-x"
DEMO_REDIS = "redis://127.0.0.1:58453/0"
INSPECT = [
    "sfgw erp orders --db /tmp/sfgw-demo-x/erp/erp.sqlite3",
    "sfgw salesforce opportunities --db /tmp/sfgw-demo-x/salesforce/salesforce.sqlite3",
    "sfgw salesforce deliveries --all --db /tmp/sfgw-demo-x/salesforce/salesforce.sqlite3",
    "sfgw salesforce close-won --count 10 --db /tmp/sfgw-demo-x/salesforce/salesforce.sqlite3",
    "SFGW_REDIS_URL=redis://127.0.0.1:58453/0 SFGW_REDIS_PREFIX=sfgw sfgw status",
    "SFGW_REDIS_URL=redis://127.0.0.1:58453/0 SFGW_REDIS_PREFIX=sfgw sfgw dlq list",
]


def _salesforce(stack: Stack) -> RunningSalesforce:
    return stack.need(stack.salesforce, "mock Salesforce")


def _inspect_subs(stack: Stack, key: str) -> dict[str, str]:
    if DEMO_DIR in key:
        return {DEMO_DIR: str(stack.config.workdir)}
    return {DEMO_REDIS: stack.redis_url}


def _won(salesforce: RunningSalesforce) -> set[str]:
    return {row["Id"] for row in salesforce.opportunities() if row["IsWon"]}


@executes(*INSPECT)
def test_the_keep_running_inspect_commands_work_on_a_running_stack(
    docs: Docs, stack: Stack
) -> None:
    # The docs show what `sfgw demo --keep-running` prints, with one run's paths and port.
    assert stack.redis_prefix == "sfgw"
    documented = [substitute(key, _inspect_subs(stack, key)) for key in INSPECT]
    assert documented == inspect_commands(stack)

    def run(key: str) -> str:
        return docs.run(key, _inspect_subs(stack, key)).ok()

    salesforce = _salesforce(stack)
    orders = stack.erp_orders().values()
    assert len(orders) >= 10
    listed = run(INSPECT[0])
    assert all(order.order_number in listed for order in orders), listed

    opportunities = run(INSPECT[1])
    assert opportunities.splitlines()[0].split()[:3] == ["ID", "NAME", "STAGE"]
    rows = salesforce.opportunities()
    assert opportunities.count("Closed Won") == sum(1 for row in rows if row["IsWon"])
    assert opportunities.count("SO-") == sum(1 for row in rows if row["Order_Number__c"])

    deliveries = run(INSPECT[2])
    assert deliveries.count("delivered") >= 1 and "opportunity_with_fields" in deliveries

    before = _won(salesforce)
    assert run(INSPECT[3]).strip() == "10 Opportunities moved to Closed Won"
    more = _won(salesforce) - before
    assert len(more) == 10
    stack.wait_settled(list(more))  # the sender delivers them; they flow through

    status = run(INSPECT[4])
    assert re.search(r"^orders\s+0\s+0\s+0\b", status, re.MULTILINE), status
    assert re.search(r"^dead letters:\s+0$", status, re.MULTILINE), status
    assert re.search(r"^live workers:\s+[1-9]", status, re.MULTILINE), status

    assert run(INSPECT[5]).strip() == "no dead letters"


def _dead_letters(stack: Stack) -> DeadLetters:
    return DeadLetters(stack.redis_client(), stack.core())


LETTER = "ord-3f2a9c0d1e4b"


@executes(
    "sfgw dlq list",
    "sfgw dlq list --json",
    "sfgw dlq show ord-3f2a9c0d1e4b",
    "sfgw dlq replay ord-3f2a9c0d1e4b",
    "sfgw dlq replay --stage callbacks --since 2h",
    "sfgw dlq replay --all",
    "sfgw dlq purge",
)
def test_dead_letter_commands_list_show_replay_and_purge_real_letters(
    docs: Docs, stack: Stack
) -> None:
    salesforce = _salesforce(stack)
    letters = _dead_letters(stack)
    env = stack.cli_env()
    # Three Opportunities whose write-back a validation rule rejects: permanent failures.
    ids = salesforce.create_opportunities(3)
    salesforce.set_faults(validation_fail_ids=ids)
    assert sorted(salesforce.close_won(3)) == sorted(ids)
    wait_until(lambda: letters.count() == 3, 120, "three dead letters")
    first, second, third = ids

    listing = docs.run("sfgw dlq list", env=env).ok()
    header, _, *rows = listing.splitlines()
    assert header.split()[:4] == ["id", "when", "(UTC)", "stage"]
    assert len(rows) == 3 and all(" callbacks " in row for row in rows), listing
    assert all(any(oid in row for row in rows) for oid in ids), listing
    assert "FIELD_CUSTOM_VALIDATION_EXCEPTION" in listing

    found = [
        json.loads(line) for line in docs.run("sfgw dlq list --json", env=env).ok().splitlines()
    ]
    letter_of = {letter["opportunity_id"]: letter for letter in found}
    assert set(letter_of) == set(ids)

    shown = json.loads(
        docs.run(f"sfgw dlq show {LETTER}", {LETTER: letter_of[first]["id"]}, env=env).ok()
    )
    assert shown["opportunity_id"] == first and shown["stage"] == "callbacks"
    assert shown["payload"] and "FIELD_CUSTOM_VALIDATION_EXCEPTION" in shown["reason"]

    salesforce.set_faults(validation_fail_ids=[third])  # "after fixing the cause" (two of 3)
    replayed = docs.run(f"sfgw dlq replay {LETTER}", {LETTER: letter_of[first]["id"]}, env=env)
    assert replayed.ok().strip() == "replayed 1 dead letter"
    stack.wait_settled([first])

    def rejected_again(after: float) -> bool:
        letter = letters.get(letter_of[third]["id"])
        return letter is not None and letter.when > after

    since = docs.run("sfgw dlq replay --stage callbacks --since 2h", env=env).ok()
    assert since.strip() == "replayed 2 dead letters"
    stack.wait_settled([second])
    wait_until(lambda: rejected_again(letter_of[third]["when"]), 60, "the third letter back")

    third_letter = letters.get(letter_of[third]["id"])
    assert third_letter is not None
    assert docs.run("sfgw dlq replay --all", env=env).ok().strip() == "replayed 1 dead letter"
    wait_until(lambda: rejected_again(third_letter.when), 60, "the third letter back again")

    purged = docs.run("sfgw dlq purge", env=env, answer="y\n").ok()
    assert "delete 1 dead letters for good? [y/N]" in purged, purged
    assert purged.strip().endswith("deleted 1 dead letters")
    assert letters.count() == 0
    salesforce.set_faults(validation_fail_ids=[])


WORKER_EXPORTS = [
    "export SFGW_REDIS_URL=redis://127.0.0.1:6379/0",
    "export SFGW_SECRET_KEY=...",
    "export SFGW_SF_LOGIN_URL=https://acme.my.salesforce.com",
    "export SFGW_SF_CLIENT_ID=...",
    "export SFGW_SF_CLIENT_SECRET=...",
]


@executes(
    *WORKER_EXPORTS,
    "sfgw worker",
    "sfgw reconcile --json",
    "sfgw reconcile",
    "sfgw reconcile --since 48h",
)
def test_reconcile_finds_unannounced_wins_and_sfgw_worker_orders_them(
    docs: Docs, stack: Stack
) -> None:
    salesforce = _salesforce(stack)
    salesforce.set_faults(validation_fail_ids=[])
    # Won while no outbound message is active: Salesforce never announces them.
    salesforce.set_definitions([])
    try:
        unannounced = salesforce.close_won(3)
    finally:
        salesforce.set_definitions([_definition(stack)])
    missing = {
        row["Id"]
        for row in salesforce.opportunities()
        if row["IsWon"] and not row["Order_Number__c"]
    }
    assert set(unannounced) <= missing

    env = docs.exports(
        {
            WORKER_EXPORTS[0]: {"redis://127.0.0.1:6379/0": stack.redis_url},
            WORKER_EXPORTS[1]: {"...": stack.secret_key},
            WORKER_EXPORTS[2]: {"https://acme.my.salesforce.com": salesforce.url},
            WORKER_EXPORTS[3]: {"...": salesforce.client_id},
            WORKER_EXPORTS[4]: {"...": salesforce.client_secret},
        }
    )
    # Queues of their own (the stack's workers never see these jobs); no minimum age, so
    # records won a moment ago count.
    env.update(SFGW_REDIS_PREFIX="docs-worker", SFGW_RECONCILE_MIN_AGE_S="0")

    found = [
        json.loads(line) for line in docs.run("sfgw reconcile --json", env=env).ok().splitlines()
    ]
    assert {f["opportunity_id"] for f in found} == missing
    assert {f["outcome"] for f in found} == {"enqueued"}

    n = len(missing)
    table = docs.run("sfgw reconcile", env=env).ok()
    assert table.splitlines()[0].split() == ["opportunity", "name", "last", "modified", "outcome"]
    assert all(oid in table for oid in missing), table
    assert table.strip().endswith(
        f"found {n} won Opportunities without an order number: 0 enqueued, "
        f"{n} already queued, 0 already processed, 0 dead letter"
    ), table

    metrics = free_port()
    worker_env = {
        **env,
        **FAST_RETRIES,
        "SFGW_ERP_URL": stack.need(stack.erp, "mock ERP").url,
        "SFGW_WORKER_PROCESSES": "1",
        "SFGW_WORKER_THREADS": "4",
        "SFGW_WORKER_METRICS_PORT": str(metrics),
    }
    worker = docs.start(
        "sfgw worker", env=worker_env, ready_url=f"http://127.0.0.1:{metrics}/metrics"
    )
    with running(worker):
        stack.wait_settled(sorted(missing))
        assert worker.stop() == 0, worker.log()

    after = docs.run("sfgw reconcile --since 48h", env=env).ok()
    assert after.strip() == (
        "found 0 won Opportunities without an order number: 0 enqueued, 0 already queued, "
        "0 already processed, 0 dead letter"
    )


def _definition(stack: Stack) -> dict[str, Any]:
    contract = stack.config.contract
    gateway = stack.need(stack.gateway, "gateway")
    return {
        "name": contract,
        "contract": contract,
        "endpoint_url": gateway.outbound_url(contract),
        "include_session_id": stack.config.session_ids,
    }


STACK_SNIPPET = (
    'python: with start_stack(StackConfig(workdir=Path("/tmp/run"), callback_api="collections"))'
    " as stack:"
)


@executes(STACK_SNIPPET)
def test_the_stack_snippet_runs_against_a_stack_with_its_config(docs: Docs, stack: Stack) -> None:
    code = docs.python(STACK_SNIPPET)
    head, with_line, body = re.split(r"^(with .*:\n)", code, maxsplit=1, flags=re.MULTILINE)
    assert 'StackConfig(workdir=Path("/tmp/run"), callback_api="collections")' in with_line
    assert stack.config.callback_api == "collections"
    namespace: dict[str, Any] = {}
    exec(head, namespace)  # noqa: S102 - the documented imports
    namespace["stack"] = stack  # what the `with` line binds
    exec(textwrap.dedent(body), namespace)  # noqa: S102 - the documented body
    ids = namespace["ids"]
    assert len(ids) == 100
    stack.wait_settled(ids)
