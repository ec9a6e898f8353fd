"""A worker process's pipeline, assembled once from its settings, in dependency order.

Redis stores -> the lazily built clients (ERP, Salesforce) -> the callback sender the
mode asks for -> the two stages -> the actors on the broker -> the periodic sweep. Every
part gets its own settings object; nothing below reads the environment.
"""

from __future__ import annotations

from collections.abc import Callable

import dramatiq
import redis

from gateway.erp import ErpClient
from gateway.http import requests_session
from gateway.lazy import Lazy
from gateway.pipeline.actors import Actors, declare_actors
from gateway.pipeline.callbacks.modes import build_callbacks
from gateway.pipeline.callbacks.per_record import CallbackStage
from gateway.pipeline.middleware import install_middleware
from gateway.pipeline.orders import OrderService, OrderStage
from gateway.pipeline.reconcile import (
    Reconciler,
    ReconcileTarget,
    install_reconcile_loop,
    require_oauth,
)
from gateway.pipeline.settings import WorkerSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput
from gateway.redis_connection import connect
from gateway.salesforce.client import SalesforceClient, build_client
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings
from gateway.trail import build_trail


def redis_client(core: CoreSettings) -> redis.Redis:
    """The stores' client: patient (a few retries, 10 s per command), since a worker
    waiting for Redis delays a message, where a worker giving up retries it."""
    return connect(core.require_redis(), timeout_s=10, client_name="sfgw-worker")


def salesforce_client(
    settings: WorkerSettings, client: redis.Redis, box: SecretBox, *, pool_size: int
) -> SalesforceClient:
    return build_client(
        settings.salesforce,
        core=settings.core,
        redis_client=client,
        http=requests_session(settings.proxies, pool_size=pool_size),
        box=box,
        partner_wsdl=settings.core.contracts_dir / "salesforce" / "partner.wsdl",
    )


def assemble(
    broker: dramatiq.Broker,
    settings: WorkerSettings,
    *,
    erp: Callable[[], OrderService] | None = None,
    salesforce: Callable[[], SalesforceClient] | None = None,
) -> Actors:
    """Middleware and actors on ``broker``; ``erp``/``salesforce`` replace the real
    clients (tests)."""
    core, pipeline = settings.core, settings.pipeline
    client = redis_client(core)
    box = SecretBox(core.require_secret_key())
    trail = build_trail(client, core, settings.trail)
    dead_letters = DeadLetters(client, core, trail)
    throughput = Throughput(client, core)
    done = DoneMarkers(client, core, pipeline.dedupe_ttl_s)
    policy = pipeline.retry_policy
    install_middleware(broker, dead_letters, trail)
    salesforce_lazy: Lazy[SalesforceClient] = Lazy(
        salesforce
        or (
            lambda: salesforce_client(settings, client, box, pool_size=max(4, 2 * pipeline.threads))
        )
    )
    erp_lazy: Lazy[OrderService] = Lazy(erp or (lambda: ErpClient(settings.erp, settings.proxies)))
    callbacks = build_callbacks(
        broker,
        core=core,
        salesforce_settings=settings.salesforce,
        settings=settings.callbacks,
        client=client,
        policy=policy,
        dead_letters=dead_letters,
        throughput=throughput,
        salesforce=salesforce_lazy,
        trail=trail,
    )
    orders = OrderStage(
        salesforce_settings=settings.salesforce,
        currency_code=pipeline.currency_code,
        done=done,
        dead_letters=dead_letters,
        erp=erp_lazy,
        salesforce=salesforce_lazy,
        callbacks=callbacks,
        throughput=throughput,
        trail=trail,
    )
    callback_stage = CallbackStage(
        settings=settings.salesforce,
        salesforce=salesforce_lazy,
        done=done,
        dead_letters=dead_letters,
        throughput=throughput,
        policy=policy,
        trail=trail,
    )
    actors = declare_actors(
        broker,
        policy,
        time_limit_ms=pipeline.actor_time_limit_ms,
        orders=orders,
        callbacks=callback_stage,
    )
    if settings.reconcile.interval_s > 0:
        require_oauth(settings.salesforce)  # at start-up, not at the first interval
    install_reconcile_loop(
        broker,
        settings.reconcile,
        lambda: build_reconciler(settings, client, salesforce_lazy.get()),
        client,
        core,
    )
    return actors


def build_reconciler(
    settings: WorkerSettings, client: redis.Redis, salesforce: SalesforceClient
) -> Reconciler:
    """The sweep the workers run periodically and ``sfgw reconcile`` runs once."""
    require_oauth(settings.salesforce)
    target = ReconcileTarget(
        order_number_field=settings.salesforce.order_number_field,
        api_version=settings.salesforce.api_version,
        dedupe_ttl_s=settings.pipeline.dedupe_ttl_s,
        marker_ttl_s=settings.pipeline.retry_for_s + 3600,
    )
    return Reconciler(
        reconcile=settings.reconcile,
        target=target,
        core=settings.core,
        client=client,
        salesforce=salesforce,
        trail=build_trail(client, settings.core, settings.trail),
    )
