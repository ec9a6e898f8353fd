"""Choosing how callbacks travel, once per worker process, before the actors exist."""

from __future__ import annotations

import dramatiq
import redis

from gateway.lazy import Lazy
from gateway.pipeline.callbacks.coalescer import CallbackCoalescer
from gateway.pipeline.callbacks.flushers import CoalescedSender, Flusher, FlusherThreads
from gateway.pipeline.callbacks.job import CallbackSender
from gateway.pipeline.callbacks.per_record import PerRecordSender
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.policy import RetryPolicy
from gateway.pipeline.stores import DeadLetters, Throughput
from gateway.salesforce.client import SalesforceClient
from gateway.salesforce.settings import APEX_APIS, SalesforceSettings
from gateway.settings import CoreSettings
from gateway.trail import Trail

#: The APIs that write many records in one call.
COALESCED_APIS = ("collections", "soap", *APEX_APIS)


def coalescing(settings: SalesforceSettings) -> bool:
    """Coalesce in the batch APIs, with OAuth: a batch has no single message SessionId."""
    return settings.callback_api in COALESCED_APIS and settings.oauth_configured


def build_callbacks(
    broker: dramatiq.Broker,
    *,
    core: CoreSettings,
    salesforce_settings: SalesforceSettings,
    settings: CallbackSettings,
    client: redis.Redis,
    policy: RetryPolicy,
    dead_letters: DeadLetters,
    throughput: Throughput,
    salesforce: Lazy[SalesforceClient],
    trail: Trail | None = None,
) -> CallbackSender:
    """The sender the order stage uses; in the coalesced modes the flusher threads are
    added to ``broker`` (they start with each worker process)."""
    if not coalescing(salesforce_settings):
        return PerRecordSender(broker)
    coalescer = CallbackCoalescer(
        client=client, core=core, coalesce=settings, policy=policy,
        dead_letters=dead_letters, throughput=throughput, trail=trail,
        mode=salesforce_settings.callback_api,
    )  # fmt: skip
    flushers = FlusherThreads(
        lambda: Flusher(coalescer, salesforce.get, salesforce_settings),
        settings.flushers,
        settings.poll_ms,
    )
    broker.add_middleware(flushers)
    return CoalescedSender(coalescer, flushers)
