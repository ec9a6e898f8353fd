"""What a stack runs and how: :class:`StackConfig`, the names of its parts, and which
settings a running stack can switch.

One frozen object describes a stack completely, so that a test can ask for a variant
(``dataclasses.replace``) and the shared-stack pool can tell whether a running stack can
become that variant (:func:`unswitchable_changes`) or a new one must start.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.salesforce.settings import CALLBACK_APIS

CONTRACTS = ("opportunity_with_fields", "opportunity_id_only")
#: The External Client App the mock org registers and the workers log in with.
CLIENT_ID = "sfgw-client"
CLIENT_SECRET = "sfgw-secret"  # noqa: S105 - the mock org's, not a real secret

# The parts, by the names logs and errors use for them, in start order.
REDIS = "redis"
ERP = "mock ERP"
GATEWAY = "gateway"
SALESFORCE = "mock Salesforce"
WORKERS = "workers"
ALL_PARTS = frozenset({REDIS, ERP, GATEWAY, SALESFORCE, WORKERS})
#: The org and Redis (for the ``sfgw`` CLI): reconciliation sweeps, org-side checks.
ORG_ONLY = frozenset({REDIS, SALESFORCE})
#: The callback stage on its own: workers never call the ERP they are pointed at.
ORG_AND_WORKERS = frozenset({REDIS, SALESFORCE, WORKERS})
#: The external services alone (the benchmarks' baselines drive them directly).
MOCKS_ONLY = frozenset({ERP, SALESFORCE})

#: Where the org's outbound message goes: the stack's own gateway; nowhere active (no
#: definition, so Salesforce never announces a win); or a loopback port nothing listens
#: on (every delivery fails, as while the gateway is down).
OUTBOUND_TARGETS = ("gateway", "none", "nowhere")


@dataclass(frozen=True)
class StackConfig:
    """What to run and how big. The defaults suit a 2-core laptop."""

    workdir: Path
    contract: str = "opportunity_with_fields"
    callback_api: str = "collections"
    #: The mock sends a SessionId with each message and the workers call back with it
    #: (the legacy mode) instead of an OAuth client-credentials token.
    session_ids: bool = False
    #: With ``session_ids``: also give the workers the OAuth client credentials they
    #: fall back to when a SessionId has expired (otherwise such a callback fails).
    oauth_fallback: bool = False
    #: ``None``: start an embedded Redis under ``workdir/redis``.
    redis_url: str | None = None
    #: ``None``: ``sfgw`` for an embedded Redis, ``sfgw-stack-<random>`` for a given one.
    redis_prefix: str | None = None
    #: Fernet key for SessionIds and tokens at rest; ``None`` generates one for this run.
    secret_key: str | None = None
    gateway_workers: int = 2
    worker_processes: int = 2
    worker_threads: int = 8
    erp_workers: int = 2
    salesforce_workers: int = 2
    #: The mock Salesforce's clock speed (1.0: Salesforce's real retry schedule).
    time_scale: float = 1.0
    #: Extra variables for the gateway and the workers (e.g. SFGW_LOG_LEVEL).
    env: Mapping[str, str] = field(default_factory=dict)
    #: Extra variables for the workers only, after ``env`` (e.g. SFGW_RETRY_MIN_BACKOFF_MS).
    worker_env: Mapping[str, str] = field(default_factory=dict)
    #: Extra variables for the mock Salesforce (e.g. SFGW_MOCKSF_CHAOS_REDELIVER).
    salesforce_env: Mapping[str, str] = field(default_factory=dict)
    #: The mock ERP's fault document (docs/mock-erp.md); ``None``: no faults.
    erp_faults: Mapping[str, Any] | None = None
    startup_timeout: float = 90.0
    #: Org ids the gateway accepts besides the mock org's own (always accepted), e.g. a
    #: second org whose notification ids may collide with the first's; ``("*",)``: any.
    allowed_orgs: tuple[str, ...] = ()
    #: The parts :meth:`Stack.start` starts; the others can be started later, on the
    #: ports chosen up front (:meth:`Stack.start_part`).
    parts: frozenset[str] = ALL_PARTS
    #: One of :data:`OUTBOUND_TARGETS`.
    outbound: str = "gateway"
    #: Put a :class:`~devstack.holdproxy.HoldProxy` in front of the org's instance URL
    #: (what its token responses name), so a test can hold API calls in flight.
    hold_proxy: bool = False

    def __post_init__(self) -> None:
        if self.callback_api not in CALLBACK_APIS:
            raise ValueError(f"callback_api must be one of {', '.join(CALLBACK_APIS)}")
        if self.contract not in CONTRACTS:
            raise ValueError(f"contract must be one of {', '.join(CONTRACTS)}")
        unknown = sorted(set(self.parts) - ALL_PARTS)
        if unknown:
            raise ValueError(f"unknown parts {unknown}; use {sorted(ALL_PARTS)}")
        if self.outbound not in OUTBOUND_TARGETS:
            raise ValueError(f"outbound must be one of {', '.join(OUTBOUND_TARGETS)}")
        if self.outbound == "gateway" and SALESFORCE in self.parts and GATEWAY not in self.parts:
            raise ValueError('outbound="gateway" needs the gateway among the parts')
        if "SFGW_ALLOWED_ORGS" in {*self.env, *self.worker_env}:
            raise ValueError("set the gateway's orgs with allowed_orgs, not SFGW_ALLOWED_ORGS")


#: What :meth:`Stack.reconfigure` changes on a running stack. The outbound message's
#: contract and SessionIds are the mock org's definition; the rest are the workers'.
OUTBOUND_SETTINGS = frozenset({"contract", "session_ids"})
WORKER_SETTINGS = frozenset(
    {
        "callback_api",
        "session_ids",
        "oauth_fallback",
        "worker_processes",
        "worker_threads",
        "worker_env",
    }
)
SWITCHABLE_SETTINGS = OUTBOUND_SETTINGS | WORKER_SETTINGS | {"erp_faults"}


def unswitchable_changes(old: StackConfig, new: StackConfig) -> list[str]:
    """The settings that differ between ``old`` and ``new`` and need a new stack."""
    return [
        f.name
        for f in dataclasses.fields(StackConfig)
        if f.name not in SWITCHABLE_SETTINGS and getattr(old, f.name) != getattr(new, f.name)
    ]


def changed_settings(old: StackConfig, new: StackConfig) -> set[str]:
    fields = dataclasses.fields(StackConfig)
    return {f.name for f in fields if getattr(old, f.name) != getattr(new, f.name)}
