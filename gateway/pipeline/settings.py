"""Settings of the order pipeline, and everything a worker process loads at start-up.

:class:`WorkerSettings` is read ONCE, when ``sfgw worker`` (or a Dramatiq worker process)
starts, and handed down: every part gets the settings object of its own package
(``gateway.broker``, ``gateway.salesforce``, ``gateway.erp``, the callbacks, the
reconciliation), and no constructor reads the environment. A bad value therefore stops
the worker before it takes a message off the queue, with one line naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.broker import BrokerSettings
from gateway.config import ConfigError, Env, env_int, env_optional_str, env_str
from gateway.erp import ErpSettings
from gateway.http import ProxySettings
from gateway.pipeline.callbacks.settings import CallbackSettings
from gateway.pipeline.policy import RetryPolicy
from gateway.pipeline.reconcile import ReconcileSettings
from gateway.salesforce.settings import DAY_S, SalesforceSettings
from gateway.settings import CoreSettings
from gateway.trail import TrailSettings


@dataclass(frozen=True)
class PipelineSettings:
    """Worker processes, retry windows and the stores' lifetimes."""

    processes: int
    threads: int
    retry_for_s: int
    min_backoff_ms: int
    max_backoff_ms: int
    limit_backoff_ms: int
    dedupe_ttl_s: int
    actor_time_limit_ms: int
    currency_code: str
    metrics_port: int
    metrics_host: str
    metrics_dir: Path | None

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            retry_for_ms=self.retry_for_s * 1000,
            min_backoff_ms=self.min_backoff_ms,
            max_backoff_ms=self.max_backoff_ms,
            limit_backoff_ms=self.limit_backoff_ms,
        )

    @classmethod
    def from_env(cls, env: Env | None = None) -> PipelineSettings:
        env = os.environ if env is None else env
        min_backoff = env_int(env, "SFGW_RETRY_MIN_BACKOFF_MS", 2_000, minimum=10)
        max_backoff = env_int(
            env, "SFGW_RETRY_MAX_BACKOFF_MS", 30 * 60_000, minimum=100, maximum=6 * 3600_000
        )
        if max_backoff < min_backoff:
            raise ConfigError(
                f"SFGW_RETRY_MAX_BACKOFF_MS={max_backoff} is below "
                f"SFGW_RETRY_MIN_BACKOFF_MS={min_backoff}"
            )
        return cls(
            processes=env_int(env, "SFGW_WORKER_PROCESSES", 2, minimum=1, maximum=64),
            threads=env_int(env, "SFGW_WORKER_THREADS", 8, minimum=1, maximum=256),
            retry_for_s=env_int(env, "SFGW_RETRY_FOR_S", DAY_S, minimum=1, maximum=30 * DAY_S),
            min_backoff_ms=min_backoff,
            max_backoff_ms=max_backoff,
            limit_backoff_ms=env_int(
                env, "SFGW_RETRY_LIMIT_BACKOFF_MS", 15 * 60_000, minimum=10, maximum=6 * 3600_000
            ),
            dedupe_ttl_s=env_int(
                env, "SFGW_DEDUPE_TTL_S", 7 * DAY_S, minimum=7 * DAY_S, maximum=90 * DAY_S
            ),
            actor_time_limit_ms=env_int(
                env, "SFGW_ACTOR_TIME_LIMIT_MS", 300_000, minimum=1_000, maximum=3600_000
            ),
            currency_code=_currency(env),
            metrics_port=env_int(env, "SFGW_WORKER_METRICS_PORT", 9191, minimum=0, maximum=65535),
            metrics_host=env_str(env, "SFGW_WORKER_METRICS_HOST", "127.0.0.1"),
            metrics_dir=_optional_path(env, "SFGW_WORKER_METRICS_DIR"),
        )


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker process needs, loaded at once (see the module doc)."""

    core: CoreSettings
    broker: BrokerSettings
    pipeline: PipelineSettings
    salesforce: SalesforceSettings
    callbacks: CallbackSettings
    erp: ErpSettings
    reconcile: ReconcileSettings
    proxies: ProxySettings
    trail: TrailSettings

    @classmethod
    def from_env(cls, env: Env | None = None) -> WorkerSettings:
        env = os.environ if env is None else env
        core = CoreSettings.from_env(env)
        salesforce = SalesforceSettings.from_env(env)
        return cls(
            core=core,
            broker=BrokerSettings.from_env(env),
            pipeline=PipelineSettings.from_env(env),
            salesforce=salesforce,
            callbacks=CallbackSettings.from_env(env, callback_api=salesforce.callback_api),
            erp=ErpSettings.from_env(env, contracts_dir=core.contracts_dir),
            reconcile=ReconcileSettings.from_env(env),
            proxies=ProxySettings.from_env(env),
            trail=TrailSettings.from_env(env),
        )


def _optional_path(env: Env, name: str) -> Path | None:
    raw = env_optional_str(env, name)
    return Path(raw) if raw else None


def _currency(env: Env) -> str:
    value = env_str(env, "SFGW_ORDER_CURRENCY", "USD")
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ConfigError(f"SFGW_ORDER_CURRENCY={value!r} must be a 3-letter ISO code like USD")
    return value
