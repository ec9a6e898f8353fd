"""How coalesced callbacks are batched (``SFGW_CALLBACK_*``); the mode itself is
``SFGW_CALLBACK_API`` in :class:`gateway.salesforce.settings.SalesforceSettings`."""

from __future__ import annotations

import os
from dataclasses import dataclass

from gateway.config import Env, env_int
from gateway.salesforce.api import MAX_RECORDS_PER_CALL


@dataclass(frozen=True)
class CallbackSettings:
    max_wait_ms: int
    batch_size: int
    lease_ms: int
    flushers: int
    poll_ms: int

    @classmethod
    def from_env(cls, env: Env | None = None) -> CallbackSettings:
        env = os.environ if env is None else env
        return cls(
            max_wait_ms=env_int(env, "SFGW_CALLBACK_MAX_WAIT_MS", 1000, minimum=0, maximum=600_000),
            batch_size=env_int(
                env, "SFGW_CALLBACK_BATCH_SIZE", MAX_RECORDS_PER_CALL, minimum=1,
                maximum=MAX_RECORDS_PER_CALL,
            ),
            lease_ms=env_int(env, "SFGW_CALLBACK_LEASE_MS", 60_000, minimum=1_000),
            flushers=env_int(env, "SFGW_CALLBACK_FLUSHERS", 2, minimum=1, maximum=32),
            poll_ms=env_int(env, "SFGW_CALLBACK_POLL_MS", 50, minimum=5, maximum=5_000),
        )  # fmt: skip
