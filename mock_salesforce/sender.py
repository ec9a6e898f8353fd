"""The org's outbound-message sender: the only process that POSTs to listeners.

It runs beside the API (in ``sfgw salesforce serve``), never inside a gunicorn worker,
and it must hold the SQLite *sender lease* before it sends anything, so even two
``serve`` processes on the same database never send the same message twice. Each
message is claimed (``in_flight``) before a delivery thread takes it.

Durations follow Salesforce's nominal clock divided by ``time_scale``: with
``SFGW_MOCKSF_TIME_SCALE=1000`` the first retry comes after 15 ms, the gap stops growing at
7.2 s and messages are dropped 86.4 s after they were queued.

Chaos (redeliver an acked message, reorder, split a batch) follows the probabilities of
the fault document, read on every tick so they can be switched on a running org, and
each one that changes what goes out is counted (``GET /admin/usage`` ``fired``).
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from mock_salesforce import delivery
from mock_salesforce.faults import Chaos, chaos
from mock_salesforce.outbound import render_message
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.store import OrgStore

log = logging.getLogger("sfgw.salesforce.sender")

LEASE_TTL = 10.0
POLL_INTERVAL = 0.05


class Sender:
    def __init__(self, settings: SalesforceSettings, base_url: str) -> None:
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.owner = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.scale = settings.time_scale
        self.rng = random.Random()
        self._local = threading.local()
        self._slots = threading.Semaphore(settings.sender_threads)
        self.stop_event = threading.Event()

    # nominal Salesforce durations -> real seconds
    def real(self, nominal: float) -> float:
        return nominal / self.scale

    @property
    def attempt_timeout(self) -> float:
        return max(self.real(delivery.ATTEMPT_TIMEOUT), self.settings.min_attempt_timeout)

    def _store(self) -> OrgStore:
        store: OrgStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = OrgStore(self.settings.db_path)
        return store

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "http", None)
        if session is None:
            session = self._local.http = requests.Session()
        return session

    def run(self) -> None:
        """Send until :attr:`stop_event` is set."""
        store = self._store()
        have_lease = False
        with ThreadPoolExecutor(self.settings.sender_threads, "om-sender") as pool:
            while not self.stop_event.is_set():
                if not store.take_lease(self.owner, LEASE_TTL):
                    if have_lease:
                        log.warning("lost the sender lease; another sender took over")
                    have_lease = False
                    self.stop_event.wait(1.0)
                    continue
                if not have_lease:
                    store.release_all()
                    have_lease = True
                self.tick(store, pool)
                now = time.time()
                next_due = store.next_due()
                wait = POLL_INTERVAL if next_due is None else min(POLL_INTERVAL, next_due - now)
                self.stop_event.wait(max(wait, 0.005))
        store.give_up_lease(self.owner)

    def chaos(self, store: OrgStore) -> Chaos:
        """The chaos probabilities now: the fault document's, else the start-up ones."""
        s = self.settings
        return chaos(store.faults(), s.chaos_redeliver, s.chaos_reorder, s.chaos_split)

    def tick(self, store: OrgStore, pool: ThreadPoolExecutor) -> None:
        now = time.time()
        odds = self.chaos(store)
        self.form_messages(store, now, odds)
        dropped = store.drop_expired(now - self.real(delivery.RETENTION))
        if dropped:
            log.warning("dropped %d message(s) older than 24 hours (scaled)", dropped)
        due = store.due_messages(now, self.settings.sender_threads * 4)
        if self.rng.random() < odds.reorder:
            self._shuffle(store, due)
        for row in due:
            if not self._slots.acquire(blocking=False):
                break
            if not store.claim(row["id"]):
                self._slots.release()
                continue
            pool.submit(self._deliver_guarded, row["id"], odds.redeliver)

    def form_messages(self, store: OrgStore, now: float, odds: Chaos | None = None) -> None:
        odds = odds or self.chaos(store)
        for definition_id, items in store.unassigned_notifications().items():
            ids = [nid for nid, _, _ in items]
            if self.rng.random() < odds.reorder:
                self._shuffle(store, ids)
            batches = delivery.plan_batches(ids, split_probability=odds.split, rng=self.rng)
            cuts = len(batches) - math.ceil(len(ids) / delivery.MAX_NOTIFICATIONS)
            if cuts:
                store.bump("chaos_split", cuts)
            for batch in batches:
                store.create_message(definition_id, batch, now)

    def _shuffle(self, store: OrgStore, items: list[Any]) -> None:
        """Shuffle in place; counted only when the order really changed (one item, or a
        shuffle that happens to give the same order, is no reordering)."""
        before = list(items)
        self.rng.shuffle(items)
        if items != before:
            store.bump("chaos_reorder")

    def _deliver_guarded(self, mid: str, redeliver: float = 0.0) -> None:
        try:
            self.deliver(mid, redeliver)
        except Exception:  # a bug must not kill the sender thread silently
            log.exception("delivery of %s failed unexpectedly", mid)
            self._store().record_attempt(
                mid,
                ok=False,
                reason="internal error",
                now=time.time(),
                next_attempt_at=time.time() + 1,
                drop=False,
            )
        finally:
            self._slots.release()

    def deliver(self, mid: str, redeliver: float = 0.0) -> None:
        store = self._store()
        message = store.db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()
        definition = store.definition(message["definition_id"])
        if definition is None:  # definitions are never deleted, only deactivated
            raise LookupError(f"message {mid} names an unknown definition")
        notifications = store.message_notifications(mid)
        records = store.get_many([oid for _, oid in notifications])
        session_id = None
        if definition.include_session_id:
            session_id = store.new_session("om", self.settings.session_ttl, self.settings.org_id15)
        org15 = self.settings.org_id15
        version = self.settings.api_version
        body = render_message(
            contract=definition.contract,
            org_id=self.settings.org_id,
            action_id=definition.id,
            session_id=session_id,
            enterprise_url=f"{self.base_url}/services/Soap/c/{version}/{org15}",
            partner_url=f"{self.base_url}/services/Soap/u/{version}/{org15}",
            notifications=notifications,
            records=records,
            fields=definition.fields,
        )
        try:
            response = self._session().post(
                definition.endpoint_url,
                data=body,
                headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                timeout=self.attempt_timeout,
                allow_redirects=False,
            )
            verdict = delivery.judge_reply(
                response.status_code, response.reason or "", response.content
            )
        except requests.RequestException as error:
            verdict = delivery.Verdict(False, delivery.connection_failure(error))
        now = time.time()
        attempts = message["attempts"] + 1
        redeliver_at = None
        if verdict.delivered and self.rng.random() < redeliver:
            redeliver_at = now + self.real(delivery.FIRST_RETRY)
        store.record_attempt(
            mid,
            ok=verdict.delivered,
            reason=verdict.reason,
            now=now,
            next_attempt_at=now + self.real(delivery.retry_delay(attempts)),
            drop=False,
            redeliver_at=redeliver_at,
        )
        log.info(
            "message %s (%d notifications) attempt %d: %s",
            mid,
            len(notifications),
            attempts,
            "acked" if verdict.delivered else verdict.reason,
        )
