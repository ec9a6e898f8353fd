"""The Dramatiq Redis broker, configured the one way every sfgw process uses it.

Dramatiq's defaults recover a SIGKILLed worker's messages only after a 60 s heartbeat
timeout plus a maintenance run that happens on 0.1 % of broker calls, i.e. minutes. We set
``heartbeat_timeout`` to 15 s and ``maintenance_chance`` to 10 % so recovery takes seconds
(measured in libraries.md section 4.2). Keys live under ``<SFGW_REDIS_PREFIX>:dramatiq``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dramatiq.brokers.redis import RedisBroker

from gateway.config import Env, env_int
from gateway.settings import CoreSettings


@dataclass(frozen=True)
class BrokerSettings:
    heartbeat_timeout_ms: int
    maintenance_chance: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> BrokerSettings:
        env = os.environ if env is None else env
        return cls(
            heartbeat_timeout_ms=env_int(
                env, "SFGW_BROKER_HEARTBEAT_TIMEOUT_MS", 15_000, minimum=2_000
            ),
            maintenance_chance=env_int(
                env, "SFGW_BROKER_MAINTENANCE_CHANCE", 100_000, minimum=1, maximum=1_000_000
            ),
        )


def broker_namespace(core: CoreSettings) -> str:
    return core.key("dramatiq")


def make_broker(core: CoreSettings, settings: BrokerSettings | None = None) -> RedisBroker:
    settings = settings or BrokerSettings.from_env()
    return RedisBroker(  # type: ignore[no-untyped-call]
        url=core.require_redis_url(),
        namespace=broker_namespace(core),
        heartbeat_timeout=settings.heartbeat_timeout_ms,
        maintenance_chance=settings.maintenance_chance,
    )
