"""Assembling the real pipeline from settings: Redis, ERP, Salesforce, actors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dramatiq
import redis

from gateway.pipeline.actors import (
    Actors,
    LazyPipeline,
    Pipeline,
    declare_actors,
    install_middleware,
    retry_policy,
)
from gateway.pipeline.coalesce import install_coalescing
from gateway.pipeline.erp_port import ErpOrderService, OrderService, PlacedOrder
from gateway.pipeline.policy import OrderDraft
from gateway.pipeline.settings import PipelineSettings
from gateway.pipeline.stores import DeadLetters, DoneMarkers, Throughput
from gateway.salesforce.auth import TokenManager
from gateway.salesforce.callbacks import SalesforceClient, make_api, make_http_session
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings


def redis_client(core: CoreSettings) -> redis.Redis:
    return redis.Redis.from_url(
        core.require_redis_url(), socket_timeout=10, socket_connect_timeout=10
    )


def build_salesforce(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, box: SecretBox
) -> SalesforceClient:
    http = make_http_session(pool_size=max(4, settings.threads * 2))
    tokens = TokenManager(settings.salesforce, core, client, http, box=box)
    api = make_api(settings.salesforce, http, core.contracts_dir)
    return SalesforceClient(settings.salesforce, api, tokens)


class _LazyOrderService:
    """Connects to the ERP on the first order, so jobs that never need it (duplicates,
    skips) and ``sfgw worker`` start-up do not depend on it being reachable."""

    def __init__(self, factory: Callable[[], OrderService]) -> None:
        self._factory = factory
        self._service: OrderService | None = None
        self._lock = threading.Lock()

    def create_order(self, draft: OrderDraft) -> PlacedOrder:
        with self._lock:
            if self._service is None:
                self._service = self._factory()
        return self._service.create_order(draft)


def _send(actors: Actors, job: dict[str, Any]) -> None:
    actors.send_callback.send(job)


def setup_pipeline(
    broker: dramatiq.Broker,
    core: CoreSettings,
    settings: PipelineSettings,
    *,
    erp_factory: Callable[[], OrderService] = ErpOrderService,
    salesforce_factory: Callable[[], SalesforceClient] | None = None,
) -> tuple[Actors, LazyPipeline]:
    """Middleware + actors on ``broker``; the pipeline itself is built lazily."""
    client = redis_client(core)
    box = SecretBox(core.require_secret_key())
    dead_letters = DeadLetters(client, core)
    install_middleware(broker, dead_letters)
    holder: dict[str, Actors] = {}
    # issue 8: in collections/soap modes the order stage hands callbacks to the coalescer
    holder_pipeline: dict[str, LazyPipeline] = {}
    coalesced = install_coalescing(
        broker, core=core, settings=settings, client=client, dead_letters=dead_letters,
        salesforce=lambda: holder_pipeline["lazy"].get().salesforce,
        policy=retry_policy(settings),
    )  # fmt: skip

    def factory() -> Pipeline:
        salesforce = (
            salesforce_factory()
            if salesforce_factory is not None
            else build_salesforce(settings, core, client, box)
        )
        return Pipeline(
            settings=settings,
            done=DoneMarkers(client, core, settings.dedupe_ttl_s),
            dead_letters=dead_letters,
            erp=_LazyOrderService(erp_factory),
            salesforce=salesforce,
            box=box,
            enqueue_callback=coalesced or (lambda job: _send(holder["actors"], job)),
            throughput=Throughput(client, core),
        )

    lazy = LazyPipeline(factory)
    holder_pipeline["lazy"] = lazy
    actors = declare_actors(broker, settings, lazy)
    holder["actors"] = actors
    return actors, lazy
