"""Handing jobs to a stack's pipeline without the stages before it.

A benchmark of the callback stage, or a test of one stage, feeds jobs exactly the way the
product's own code hands them over -- notifications as the gateway's intake enqueues them
(deduplicated per org and notification id, atomically), completed orders as the order
stage passes them to the callback stage in the configured mode -- by calling that code,
so none of Dramatiq's Redis layout is spelled here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from gateway.broker import (
    CALLBACKS_QUEUE,
    ORDERS_QUEUE,
    PROCESS_NOTIFICATION,
    BrokerSettings,
    make_broker,
)
from gateway.intake.enqueue import DurableQueue
from gateway.jobs import NotificationJob
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.job import CallbackJob
from gateway.pipeline.callbacks.modes import coalescing
from gateway.pipeline.callbacks.per_record import PerRecordSender
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters
from gateway.redis_connection import connect
from gateway.routes import Route
from gateway.salesforce.settings import SalesforceSettings
from gateway.settings import CoreSettings

#: How long the intake's dedupe markers of fed notifications live (a day, as Salesforce
#: redelivers for a day).
DEDUPE_TTL_S = 86_400


def enqueue_notifications(env: Mapping[str, str], jobs: Sequence[NotificationJob]) -> int:
    """Enqueue ``jobs`` on the orders queue as the intake does; how many were new (a
    notification the intake or an earlier feed already took is a duplicate)."""
    queue = DurableQueue(
        CoreSettings.from_env(env),
        timeout_ms=10_000,
        ready_timeout_ms=5_000,
        dedupe_ttl_s=DEDUPE_TTL_S,
    )
    try:
        return queue.enqueue(jobs, Route(ORDERS_QUEUE, PROCESS_NOTIFICATION)).added
    finally:
        queue.close()


def hand_over_callbacks(env: Mapping[str, str], jobs: Sequence[CallbackJob]) -> dict[str, float]:
    """Give ``jobs`` (completed orders) to the callback stage the way the order stage
    does in the mode ``env`` configures: a ``send_callback`` message each (``rest``, or a
    SessionId), or the coalescer's pending set. Returns Opportunity id -> when (epoch s)
    it was handed over, the start of its callback latency."""
    core = CoreSettings.from_env(env)
    handed: dict[str, float] = {}
    salesforce = SalesforceSettings.from_env(env)
    if not coalescing(salesforce):
        broker = make_broker(core, BrokerSettings.from_env(env))
        try:
            broker.declare_queue(CALLBACKS_QUEUE)
            sender = PerRecordSender(broker)
            for job in jobs:
                handed[job.opportunity_id] = time.time()
                sender.submit(job)
        finally:
            broker.close()
        return handed
    client = connect(core.require_redis(), timeout_s=10)
    try:
        coalescer = CallbackCoalescer(
            client=client,
            core=core,
            coalesce=CallbackSettings.from_env(env, callback_api=salesforce.callback_api),
            policy=PipelineSettings.from_env(env).retry_policy,
            dead_letters=DeadLetters(client, core),
        )
        for job in jobs:
            handed[job.opportunity_id] = time.time()
            coalescer.add(job)
    finally:
        client.close()
    return handed
