"""A hypothesis state machine that checks the six-invariant core of the system end to end.

The rules drive the REAL processes of a :class:`devstack.stack.Stack` started with
:func:`model_config`: close Opportunities (the mock Salesforce then sends its own
outbound messages, with chaos: redelivery, reordering, split batches), deliver messages
ourselves (built from the records with the contract's generated classes), redeliver them
byte for byte, deliver their notifications reordered and regrouped, deliver one
notification id from two allowed orgs, SIGKILL and restart the workers, SIGKILL and
restart Redis (optionally with a delivery while it is down), take the ERP down / make it
flaky / heal it, make the Salesforce API flaky, expire every Salesforce session, and run
the workers until idle.

Starting the processes takes ~10-20 s on the 2-core machine, far too slow per hypothesis
example, so one stack serves every example: examples are namespaced by fresh
Opportunities and notification ids, and every example ends with the queues drained and
the faults cleared. Timing settings are shortened so that an example's faults heal in
seconds: retries start after 200 ms and back off to 2 s at most; a SIGKILLed worker's
messages come back after a 4 s heartbeat timeout (maintenance on 20 % of broker calls).

Each deterministic fault proves it fired from what the parts recorded, or the example
fails: the killed worker group's exit code, a new Redis run id, the ERP supervisor's
down-window log line, a new OAuth session after the credentials expired (when a callback
succeeded afterwards). The probabilistic ones (a flaky ERP or Salesforce API) may
legitimately not strike within an example; the run reports what the mocks' fault
counters saw.

The model is small: which notifications the gateway acknowledged (HTTP 200 with
``Ack=true``) -- ours, and those the mock Salesforce recorded as acked -- and which
Opportunities belong to this example. Checked after every step:

* **no ack without a durable enqueue** (invariant 1): every acked notification is, in
  one atomic Redis snapshot, queued / delayed / in flight (the orders queue's message
  stores, as :class:`gateway.broker.QueueKeys` names them), done (the pipeline's done
  marker) or dead-lettered;
* **never two orders for one Opportunity** (invariant 3): the ERP holds at most one order
  per Opportunity, and an order number written onto an Opportunity is that order's.

Checked at the end of every example, after the faults are healed and everything drained
(invariant 2): every acked notification ended as done or as a dead letter with a reason
(``sfgw dlq list --json``); every Opportunity with a processed notification has exactly
one ERP order and carries its number, unless its callback is a dead letter with a reason.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import string
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from lxml import etree

from devstack.config import ERP, StackConfig
from devstack.mocks import RunningErp
from devstack.stack import Stack
from gateway import sfid
from gateway.broker import ORDERS_QUEUE, QueueKeys
from gateway.namespaces import OUTBOUND_MESSAGE
from gateway.pipeline.stores import DoneMarkers
from mock_salesforce.outbound import render_message

CONTRACT = "opportunity_with_fields"
#: A second org the gateway accepts: the same notification id can exist in two orgs
#: (ids are unique per org only).
OTHER_ORG = "00D5g0000OTHER1EQP"
ACTION_ID = "04k5g0000000042AAA"
#: Seconds an example may take to drain after its faults are healed.
IDLE_TIMEOUT_S = float(os.environ.get("SFGW_MODEL_IDLE_TIMEOUT_S", "120"))
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

F = TypeVar("F", bound=Callable[..., Any])

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


def model_config(workdir: Path) -> StackConfig:
    """The model's stack: the org's chaos on and its clock 1000x faster, fast-healing
    worker timing, one worker process of four threads, coalesced callbacks (the
    product's default mode) and a second allowed org."""
    return StackConfig(
        workdir=workdir,
        contract=CONTRACT,
        callback_api="collections",
        redis_prefix=f"sfgw-model-{uuid.uuid4().hex[:8]}",
        worker_processes=1,
        worker_threads=4,
        time_scale=1000,
        worker_env=WORKER_TIMING,
        salesforce_env=SALESFORCE_CHAOS,
        allowed_orgs=(OTHER_ORG,),
    )


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


def new_notification_id() -> str:
    """A fresh 18-character ``04l`` id, unique across examples and runs.

    From ``uuid4`` (the OS's randomness), NOT the ``random`` module: hypothesis seeds
    ``random`` identically for every example, so ``random``-made ids repeat across
    examples -- a notification id reused for another record, which the system rightly
    deduplicates and the final check then (rightly) reports.
    """
    number = uuid.uuid4().int
    tail = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        tail += _BASE62[digit]
    return sfid.to18("04l5g" + tail)


def is_ack(status: int, body: bytes) -> bool:
    """What Salesforce counts as delivered: HTTP 200 and a SOAP ``Ack`` of true."""
    if status != 200:
        return False
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError:
        return False
    acks = root.findall(f".//{{{OUTBOUND_MESSAGE}}}Ack")
    return len(acks) == 1 and (acks[0].text or "").strip() == "true"


@dataclass(frozen=True)
class Notice:
    """One notification: which org sent it, its id, and its Opportunity."""

    org: str
    notification_id: str
    opportunity_id: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.org[:15], self.notification_id)


@dataclass
class Delivery:
    """A message we POSTed (kept for byte-for-byte redelivery)."""

    body: bytes
    notices: list[Notice]
    acked: bool = False


@dataclass
class RunStats:
    """What the examples did, for the test's sanity check and the soak table."""

    examples: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    #: faults proven to have fired, per rule (from the parts' own records)
    fired: dict[str, int] = field(default_factory=dict)
    #: notifications of the second org the gateway acked
    other_org_acked: int = 0
    acked_direct: int = 0
    acked_by_salesforce: int = 0
    faulted: int = 0
    opportunities: int = 0
    ordered_and_updated: int = 0
    dead_letters: int = 0
    drain_s: list[float] = field(default_factory=list)
    #: notification ids we POSTed ourselves / that two orgs shared
    direct_ids: set[str] = field(default_factory=set)
    two_org_ids: set[str] = field(default_factory=set)

    def count(self, step: str) -> None:
        self.steps[step] = self.steps.get(step, 0) + 1

    def fire(self, fault: str) -> None:
        self.fired[fault] = self.fired.get(fault, 0) + 1


def _marks_broken(fn: F) -> F:
    """Remember that this example already failed, so teardown does not mask the
    original failure with a second one (teardown still heals the stack)."""

    @functools.wraps(fn)
    def wrapper(self: InvariantMachine, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            self.broken = True
            raise

    return wrapper  # type: ignore[return-value]


class InvariantMachine(RuleBasedStateMachine):
    """Configured by :func:`machine_for` (the stack and the URL we POST to)."""

    stack: ClassVar[Stack]
    target_url: ClassVar[str]
    stats: ClassVar[RunStats]

    def __init__(self) -> None:
        super().__init__()
        self.sf = self.stack.need(self.stack.salesforce, "mock Salesforce")
        self.mock_erp: RunningErp = self.stack.need(self.stack.erp, ERP)
        self.org = self.sf.org_id
        self.partner_url = f"{self.sf.url}/services/Soap/u/62.0/{self.org[:15]}"
        self.enterprise_url = f"{self.sf.url}/services/Soap/c/62.0/{self.org[:15]}"
        self.opps: list[str] = []
        self.deliveries: list[Delivery] = []
        self.acked: set[Notice] = set()
        self.erp_state = "up"  # up | down | flaky
        self.erp_down_until = 0.0
        self.erp_windows_before = 0  # the supervisor's down-window lines before the last
        #: (when, successful API calls then) of each expiry of every credential
        self.expiries: list[tuple[float, int]] = []
        self.last_reply = b""
        self.sf_flaky = False
        self.broken = False
        self.stats.examples += 1

    # -- helpers -----------------------------------------------------------------------

    def _records(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = set(ids)
        records = {}
        for oid, view in self.stack.opportunities().items():
            if oid in wanted:
                records[oid] = {k: v for k, v in view.items() if k != "LastModifiedDate"}
        return records

    def _render(self, org: str, notices: list[tuple[str, str]]) -> bytes:
        return render_message(
            contract=CONTRACT,
            org_id=org,
            action_id=ACTION_ID,
            session_id=None,
            enterprise_url=self.enterprise_url,
            partner_url=self.partner_url,
            notifications=notices,
            records=self._records(opp for _, opp in notices),
        )

    def _send(self, delivery: Delivery) -> bool:
        self.stats.direct_ids.update(n.notification_id for n in delivery.notices)
        status, body = post(self.target_url, delivery.body)
        self.last_reply = body
        acked = is_ack(status, body)
        if acked:
            delivery.acked = True
            self.acked.update(delivery.notices)
            self.stats.acked_direct += len(delivery.notices)
        else:
            # Every reply that is not an ack must be a SOAP fault (invariant 4).
            assert status in (0, 500), f"not an ack and not a SOAP fault: HTTP {status}"
            self.stats.faulted += 1
        return acked

    def _new_delivery(self, org: str, opps: list[str]) -> Delivery:
        notices = [Notice(org, new_notification_id(), opp) for opp in opps]
        body = self._render(org, [(n.notification_id, n.opportunity_id) for n in notices])
        delivery = Delivery(body=body, notices=notices)
        self.deliveries.append(delivery)
        return delivery

    def _salesforce_acked(self) -> set[Notice]:
        mine = set(self.opps)
        return {
            Notice(self.org, nid, opp) for nid, opp in self.stack.salesforce_acked() if opp in mine
        }

    def all_acked(self) -> set[Notice]:
        # Read the mock Salesforce BEFORE Redis: it records an ack only after the
        # gateway answered, i.e. after Redis acknowledged the write.
        return self.acked | self._salesforce_acked()

    # -- rules -------------------------------------------------------------------------

    @initialize(count=st.integers(min_value=1, max_value=3))
    @_marks_broken
    def first_deals(self, count: int) -> None:
        """Every example starts with fresh deals won (its own namespace)."""
        self._close(count)

    @rule(count=st.integers(min_value=1, max_value=3))
    @_marks_broken
    def close_opportunities(self, count: int) -> None:
        """Sales reps win deals: the org's rule queues one notification per Opportunity."""
        self.stats.count("close_opportunities")
        self._close(count)

    def _close(self, count: int) -> None:
        ids = self.sf.close_won(count)
        self.opps.extend(ids)
        self.stats.opportunities += len(ids)

    @precondition(lambda self: bool(self.opps))
    @rule(data=st.data())
    @_marks_broken
    def deliver(self, data: st.DataObject) -> None:
        """A new message (fresh notification ids) about 1-4 of this example's deals."""
        self.stats.count("deliver")
        opps = data.draw(
            st.lists(st.sampled_from(self.opps), min_size=1, max_size=4, unique=True),
            label="opportunities",
        )
        self._send(self._new_delivery(self.org, opps))

    @precondition(lambda self: bool(self.deliveries))
    @rule(data=st.data())
    @_marks_broken
    def redeliver(self, data: st.DataObject) -> None:
        """The same bytes again: an ack lost on the way, or Salesforce's retry."""
        self.stats.count("redeliver")
        delivery = data.draw(st.sampled_from(self.deliveries), label="message")
        self._send(delivery)

    @precondition(lambda self: bool(self.deliveries))
    @rule(data=st.data())
    @_marks_broken
    def reorder(self, data: st.DataObject) -> None:
        """Notifications of one or two earlier messages, regrouped in another order and
        rendered with the records' current state (Salesforce renders at send time)."""
        self.stats.count("reorder")
        picked = data.draw(
            st.lists(st.sampled_from(self.deliveries), min_size=1, max_size=2), label="messages"
        )
        notices = list(dict.fromkeys(n for d in picked for n in d.notices))
        order = data.draw(st.permutations(notices), label="order")
        org = order[0].org
        same_org = [n for n in order if n.org == org]
        body = self._render(org, [(n.notification_id, n.opportunity_id) for n in same_org])
        delivery = Delivery(body=body, notices=same_org)
        self.deliveries.append(delivery)
        self._send(delivery)

    @rule()
    @_marks_broken
    def deliver_latest(self) -> None:
        """A new message about the latest deals won (up to three).

        Rules without arguments are what hypothesis tries first and in its simplest
        examples (it orders rules by argument count), so the plain deliveries are
        argument-free to make even a small CI budget deliver from the first example."""
        self.stats.count("deliver_latest")
        self._send(self._new_delivery(self.org, self.opps[-3:]))

    @rule()
    @_marks_broken
    def deliver_in_two_orgs(self) -> None:
        """This org and another one each send a notification with the SAME id (ids are
        unique per org only) about the latest deal, in turn first. Both must be
        processed: neither may be deduplicated away as the other's redelivery."""
        self.stats.count("deliver_in_two_orgs")
        opp = self.opps[-1]
        orgs = [self.org, OTHER_ORG]
        if len(self.deliveries) % 2:
            orgs.reverse()
        shared_id = new_notification_id()
        self.stats.two_org_ids.add(shared_id)
        for org in orgs:
            body = self._render(org, [(shared_id, opp)])
            delivery = Delivery(body=body, notices=[Notice(org, shared_id, opp)])
            self.deliveries.append(delivery)
            if self._send(delivery):
                self.stats.other_org_acked += org == OTHER_ORG
            else:  # a transient fault (Redis just restarted) is fine; a refused org is not
                assert b"not allowed" not in self.last_reply, (
                    f"the gateway refused org {org}: the two-org rule checks nothing"
                )

    @rule()
    @_marks_broken
    def kill_or_start_workers(self) -> None:
        """SIGKILL the worker process group (whatever it had in flight stays unacked
        until the broker's maintenance hands it back), or start workers when none run."""
        if self.stack.workers is not None:
            self.stats.count("kill_workers")
            killed = self.stack.kill_workers()
            assert killed is not None and killed.exit_code == -9, f"not killed: {killed}"
            self.stats.fire("kill_workers")
        else:
            self.stats.count("start_workers")
            self.stack.start_workers()

    @rule(deliver_during_outage=st.booleans(), data=st.data())
    @_marks_broken
    def restart_redis(self, deliver_during_outage: bool, data: st.DataObject) -> None:
        """SIGKILL Redis and start it again on the same append-only file. Optionally a
        message arrives while it is down: it must NOT be acked (invariant 1)."""
        self.stats.count("restart_redis")
        run_id = self.stack.redis_run_id()
        self.stack.crash_redis()
        try:
            if deliver_during_outage and self.opps:
                opps = data.draw(
                    st.lists(st.sampled_from(self.opps), min_size=1, max_size=2, unique=True),
                    label="opportunities during the outage",
                )
                delivery = self._new_delivery(self.org, opps)
                assert not self._send(delivery), "the gateway acked while Redis was down"
        finally:
            self.stack.start_redis()
        assert self.stack.redis_run_id() != run_id, "Redis was not restarted"
        self.stats.fire("restart_redis")

    def _erp_answers(self) -> bool:
        try:
            self.mock_erp.get_faults()
        except OSError:
            return False
        return True

    def _erp_reachable(self) -> None:
        """After a down window: wait for it to end and for the ERP to answer again, and
        check that its supervisor really refused connections meanwhile."""
        if self.erp_state == "down":
            self.stack.wait_for(
                "the ERP back after its down window",
                lambda: time.time() >= self.erp_down_until and self._erp_answers(),
                timeout=60,
            )
            self.mock_erp.wait_ready(timeout=60)
            windows = self.stack.log_count(ERP, "down window")
            assert windows > self.erp_windows_before, "the ERP was never down"
            self.erp_state = "up"
            self.stats.fire("erp_down")

    def _set_erp_faults(self, **faults: Any) -> None:
        """``set_faults`` on the admin endpoint, patient with a restart in progress
        (the supervisor may take a moment to stop or start gunicorn)."""
        deadline = time.monotonic() + 60
        while True:
            try:
                self.mock_erp.set_faults(**faults)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    @rule(state=st.sampled_from(["down", "flaky", "up"]), seconds=st.integers(1, 3))
    @_marks_broken
    def erp(self, state: str, seconds: int) -> None:
        """``down``: refuses connections for a few seconds (comes back by itself);
        ``flaky``: errors, and orders committed whose answer never arrives (drop after
        commit); ``up``: healthy."""
        self.stats.count(f"erp_{state}")
        self._erp_reachable()
        if state == "down":
            self.erp_windows_before = self.stack.log_count(ERP, "down window")
            self._set_erp_faults(down={"seconds": seconds})
            self.erp_down_until = time.time() + seconds + 0.5
        elif state == "flaky":
            self._set_erp_faults(
                error={"rate": 0.3, "mode": "unavailable"}, drop_after_commit={"rate": 0.3}
            )
        else:
            self._set_erp_faults()
        self.erp_state = state

    @rule()
    @_marks_broken
    def expire_credentials(self) -> None:
        """Every Salesforce session and OAuth token dies (the workers must re-auth)."""
        self.stats.count("expire_credentials")
        self.expiries.append((time.time(), self.sf.api_usage()["api_requests"]))
        self.sf.expire_sessions()

    @rule(flaky=st.booleans())
    @_marks_broken
    def salesforce_api(self, flaky: bool) -> None:
        """Row locks and unavailability on the callback API, or healthy again."""
        self.stats.count("salesforce_api_flaky" if flaky else "salesforce_api_healthy")
        if flaky:
            self.sf.set_faults(lock_probability=0.3, unavailable_probability=0.2)
        else:
            self.sf.set_faults(lock_probability=0.0, unavailable_probability=0.0)
        self.sf_flaky = flaky

    @rule()
    @_marks_broken
    def run_until_idle(self) -> None:
        """Let the workers work (starting them if they are down) until the queues are
        empty, for at most 30 s (an ERP outage may still be in progress)."""
        self.stats.count("run_until_idle")
        self.stack.start_workers()
        self.stack.wait_idle(timeout=30)

    # -- invariants after every step ---------------------------------------------------

    @invariant()
    @_marks_broken
    def no_ack_without_durable_enqueue(self) -> None:
        acked = self.all_acked()
        if not acked:
            return
        core = self.stack.core()
        ordered = sorted(acked, key=lambda n: n.key)
        client = self.stack.redis_client()
        try:
            done_markers = DoneMarkers(client, core, 1)
            stored = QueueKeys.of(core).all_message_hashes([ORDERS_QUEUE])
            pipe = client.pipeline(transaction=True)  # MULTI/EXEC: one atomic snapshot
            for key in stored:  # ready and in flight, delayed
                pipe.hvals(key)
            pipe.hvals(core.key("pipeline", "dlq"))
            for notice in ordered:
                pipe.exists(done_markers.key(*notice.key))
            results = pipe.execute()
        finally:
            client.close()
        bodies, (letters, *done) = results[: len(stored)], results[len(stored) :]
        queued = {_job_key(raw) for values in bodies for raw in values}
        dead = {_letter_key(raw) for raw in letters}
        missing = [
            n
            for n, is_done in zip(ordered, done, strict=True)
            if not is_done and n.key not in queued and ("orders", *n.key) not in dead
        ]
        assert not missing, (
            "acked but neither queued, in flight, done nor dead-lettered "
            f"(invariant 1 broken): {missing}"
        )

    @invariant()
    @_marks_broken
    def never_two_orders_per_opportunity(self) -> None:
        if not self.opps:
            return
        rows = self.stack.erp_order_count()  # first: orders only come, never go
        orders = self.stack.erp_orders()
        assert rows <= len(orders), (
            f"the ERP holds {rows} orders for {len(orders)} Opportunities (invariant 3)"
        )
        records = self.stack.opportunities()
        for opp in self.opps:
            number = records[opp]["Order_Number__c"]
            if number:
                order = orders.get(opp)
                assert order is not None and order.order_number == number, (
                    f"{opp} carries order {number} but the ERP has {order}"
                )

    # -- the end of an example ---------------------------------------------------------

    def _heal(self) -> None:
        self.stack.start_redis()
        self._erp_reachable()
        self._set_erp_faults()
        self.erp_state = "up"
        self.sf.set_faults(lock_probability=0.0, unavailable_probability=0.0)
        self.stack.start_workers()

    def teardown(self) -> None:
        try:
            self._heal()
            if self.broken:
                return
            started = time.monotonic()
            idle = self.stack.wait_idle(timeout=IDLE_TIMEOUT_S)
            self.stats.drain_s.append(round(time.monotonic() - started, 1))
            assert idle, (
                f"not drained {IDLE_TIMEOUT_S:.0f}s after the faults were healed: "
                f"{self.stack.salesforce_pending()} notifications unsent by Salesforce; "
                f"queues:\n{self.stack.queue_report()}\nworker log tail:\n{self._worker_log()}"
            )
            self.check_outcomes()
            self.check_reauthentication()
        finally:
            # Leave a clean stack for the next example even if this one failed.
            with contextlib.suppress(Exception):  # the failure being reported matters more
                self._heal()

    def _worker_log(self) -> str:
        workers = self.stack.workers
        return workers.child.log_tail(15) if workers is not None else "(no workers)"

    def check_reauthentication(self) -> None:
        """Each expiry of the credentials fired: when an API call succeeded after it
        (they are counted only when the org accepts them), the workers had logged in
        again, so the org issued a new OAuth token since."""
        calls = self.sf.api_usage()["api_requests"]
        for expired_at, calls_then in self.expiries:
            if calls > calls_then:  # a new UTC day resets the count: then nothing to see
                new = self.stack.salesforce_sessions("oauth", since=expired_at)
                assert new >= 1, f"API calls after the expiry at {expired_at} without a login"
                self.stats.fire("expire_credentials")

    def check_outcomes(self) -> None:
        """Invariant 2 after draining: each acked notification ended as done or as a
        dead letter with a reason; each processed Opportunity has one order and shows
        its number (or its callback is a dead letter with a reason)."""
        acked = self.all_acked()
        if not acked:
            return
        letters = [
            letter
            for letter in self._dead_letters_cli()
            if letter["opportunity_id"] in set(self.opps)
            or letter["notification_id"] in {n.notification_id for n in acked}
        ]
        for letter in letters:
            assert letter["reason"].strip(), f"dead letter without a reason: {letter}"
        self.stats.dead_letters += len(letters)
        self.stats.acked_by_salesforce += len(acked - self.acked)
        order_letters = {
            (str(x["organization_id"])[:15], x["notification_id"])
            for x in letters
            if x["stage"] == "orders"
        }
        callback_letters = {x["opportunity_id"] for x in letters if x["stage"] == "callbacks"}
        client = self.stack.redis_client()
        try:
            ordered = sorted(acked, key=lambda n: n.key)
            markers = DoneMarkers(client, self.stack.core(), 1)
            values = client.mget([markers.key(*n.key) for n in ordered])
        finally:
            client.close()
        done = {
            n: v.decode() if isinstance(v, bytes) else str(v)
            for n, v in zip(ordered, values, strict=True)
            if v is not None
        }
        lost = [n for n in ordered if n not in done and n.key not in order_letters]
        assert not lost, f"acked notifications that ended nowhere (invariant 2): {lost}"
        orders = self.stack.erp_orders()
        records = self.stack.opportunities()
        for opp in sorted({n.opportunity_id for n in acked}):
            outcomes = {done[n] for n in acked if n.opportunity_id == opp and n in done}
            numbers = [orders[opp].order_number] if opp in orders else []
            placed = {o for o in outcomes if o != "skipped"}
            if not outcomes:
                continue  # every notification of it is an orders-stage dead letter
            assert len(numbers) == 1, f"{opp}: notifications done ({outcomes}) but no ERP order"
            assert placed <= set(numbers), (
                f"{opp}: done with {placed}, ERP has {numbers}; notifications: "
                f"{[(n, done.get(n)) for n in ordered if n.opportunity_id == opp]}"
            )
            written = records[opp]["Order_Number__c"]
            if opp in callback_letters and written != numbers[0]:
                continue  # the callback is parked with its reason
            assert written == numbers[0], (
                f"{opp}: ERP order {numbers[0]} but the Opportunity shows {written!r} "
                f"and no callback dead letter"
            )
            self.stats.ordered_and_updated += 1

    def _dead_letters_cli(self) -> list[dict[str, Any]]:
        """``sfgw dlq list --json``: what an operator sees."""
        result = self.stack.sfgw("dlq", "list", "--json", timeout=60)
        assert result.returncode == 0, f"sfgw dlq list --json failed: {result.stderr.strip()}"
        return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def _job_key(raw: bytes) -> tuple[str, str]:
    args = json.loads(raw).get("args") or [{}]
    job = args[0] if isinstance(args[0], dict) else {}
    return (str(job.get("organization_id", ""))[:15], str(job.get("notification_id", "")))


def _letter_key(raw: bytes) -> tuple[str, str, str]:
    letter = json.loads(raw)
    return (
        str(letter.get("stage")),
        str(letter.get("organization_id", ""))[:15],
        str(letter.get("notification_id", "")),
    )


def machine_for(stack: Stack, target_url: str, stats: RunStats) -> type[InvariantMachine]:
    """A machine class bound to a running stack, POSTing to ``target_url``."""
    return type(
        "InvariantMachine",
        (InvariantMachine,),
        {"stack": stack, "target_url": target_url, "stats": stats},
    )


def model_settings(
    *, max_examples: int, steps: int, shrink: bool = False, seed_derandomize: bool | None = None
) -> settings:
    """Settings for real processes: no deadline, no health checks about slowness, and
    by default no shrinking (each shrink attempt replays real faults; the failing
    example's steps are printed either way)."""
    phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if shrink:
        phases.append(Phase.shrink)
    kwargs: dict[str, Any] = {}
    if seed_derandomize is not None:
        kwargs["derandomize"] = seed_derandomize
    return settings(
        settings.default,
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=phases,
        report_multiple_bugs=False,
        print_blob=True,
        **kwargs,
    )


def run_model(stack: Stack, target_url: str, config: settings, stats: RunStats) -> None:
    run_state_machine_as_test(machine_for(stack, target_url, stats), settings=config)


__all__ = [
    "CONTRACT",
    "InvariantMachine",
    "RunStats",
    "is_ack",
    "machine_for",
    "model_config",
    "model_settings",
    "new_notification_id",
    "run_model",
]
