"""How coalesced callbacks are batched (``SFGW_CALLBACK_*``); the mode itself is
``SFGW_CALLBACK_API`` in :class:`gateway.salesforce.settings.SalesforceSettings`.

The defaults depend on the mode, because the modes differ in what one call may carry:
sObject Collections and the Partner ``update`` take 200 records, the org's Apex service
takes up to 2,000 (one DML statement; Apex's own limit is 10,000 rows). An Apex batch of
1,000 fills in a few seconds of a burst, so it may wait longer (5 s), and it leaves as
soon as no record has joined it for ``SFGW_CALLBACK_IDLE_MS``: the end of a burst is not
held back by the long wait.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gateway.config import Env, env_int
from gateway.salesforce.apex import MAX_RECORDS_PER_APEX_CALL
from gateway.salesforce.api import MAX_RECORDS_PER_CALL
from gateway.salesforce.settings import APEX_APIS

#: The Apex default: 10 calls for 10,000 orders, and a transaction of 1,000 rows leaves
#: room in the 10 s CPU budget for the org's own Opportunity triggers (a batch that still
#: hits a governor limit is split, see ``gateway.pipeline.callbacks.narrowing``).
APEX_BATCH_SIZE = 1000


@dataclass(frozen=True)
class CallbackSettings:
    max_wait_ms: int
    batch_size: int
    lease_ms: int
    flushers: int
    poll_ms: int
    #: Flush a partial batch once no record has joined it for this long (0: only
    #: ``max_wait_ms`` and a full batch flush).
    idle_ms: int = 0

    @classmethod
    def from_env(
        cls, env: Env | None = None, *, callback_api: str = "collections"
    ) -> CallbackSettings:
        env = os.environ if env is None else env
        apex = callback_api in APEX_APIS
        most = MAX_RECORDS_PER_APEX_CALL if apex else MAX_RECORDS_PER_CALL
        return cls(
            max_wait_ms=env_int(
                env, "SFGW_CALLBACK_MAX_WAIT_MS", 5000 if apex else 1000, minimum=0,
                maximum=600_000,
            ),
            batch_size=env_int(
                env, "SFGW_CALLBACK_BATCH_SIZE", APEX_BATCH_SIZE if apex else most, minimum=1,
                maximum=most,
            ),
            lease_ms=env_int(env, "SFGW_CALLBACK_LEASE_MS", 60_000, minimum=1_000),
            flushers=env_int(env, "SFGW_CALLBACK_FLUSHERS", 2, minimum=1, maximum=32),
            poll_ms=env_int(env, "SFGW_CALLBACK_POLL_MS", 50, minimum=5, maximum=5_000),
            idle_ms=env_int(
                env, "SFGW_CALLBACK_IDLE_MS", 250 if apex else 0, minimum=0, maximum=600_000
            ),
        )  # fmt: skip
