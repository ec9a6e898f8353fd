"""Settings of the intake gateway (``sfgw serve``), read from ``SFGW_*`` variables.

Everything the gateway decides per request comes from this one frozen object, built once
at start-up: a bad value stops the process with a line naming the variable instead of
surfacing as a wrong answer to Salesforce later.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from gateway import sfid
from gateway.config import (
    ConfigError,
    Env,
    env_int,
    env_list,
    env_networks,
    env_optional_str,
)
from gateway.routes import ROUTE_PREFIX, Route, contract_route, route_overrides_from_env
from gateway.settings import CoreSettings
from gateway.trail import TrailSettings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class IntakeSettings:
    core: CoreSettings
    #: 15-character org ids accepted; ``None`` means any org (``SFGW_ALLOWED_ORGS=*``).
    allowed_orgs: tuple[str, ...] | None
    #: 15-character ActionIds accepted; empty means any.
    allowed_actions: tuple[str, ...]
    max_body_bytes: int
    enqueue_timeout_ms: int
    ready_timeout_ms: int
    dedupe_ttl_s: int
    allowed_networks: tuple[Network, ...]
    trusted_proxies: tuple[Network, ...]
    #: Explicit routes from ``SFGW_ROUTE_<CONTRACT>=queue[:actor]`` (upper-case name).
    route_overrides: dict[str, Route] = field(default_factory=dict)
    workers: int = 2
    timeout_s: int = 30
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    metrics_dir: Path | None = None
    #: The record trail's switch and lifetime (:mod:`gateway.trail`).
    trail: TrailSettings = field(default_factory=TrailSettings)

    @classmethod
    def from_env(cls, env: Env | None = None) -> IntakeSettings:
        env = os.environ if env is None else env
        core = CoreSettings.from_env(env)
        tls_cert = _optional_file(env, "SFGW_TLS_CERT")
        tls_key = _optional_file(env, "SFGW_TLS_KEY")
        tls_client_ca = _optional_file(env, "SFGW_TLS_CLIENT_CA")
        if (tls_cert is None) != (tls_key is None):
            raise ConfigError("SFGW_TLS_CERT and SFGW_TLS_KEY must be set together")
        if tls_client_ca is not None and tls_cert is None:
            raise ConfigError(
                "SFGW_TLS_CLIENT_CA needs SFGW_TLS_CERT and SFGW_TLS_KEY (mutual TLS)"
            )
        metrics_dir = env_optional_str(env, "SFGW_METRICS_DIR")
        enqueue_timeout_ms = env_int(
            env, "SFGW_ENQUEUE_TIMEOUT_MS", 2000, minimum=50, maximum=50_000
        )
        quorum = core.redis.quorum
        if quorum is not None and quorum.timeout_ms >= enqueue_timeout_ms:
            raise ConfigError(
                f"SFGW_REDIS_REPLICA_TIMEOUT_MS={quorum.timeout_ms} must be below "
                f"SFGW_ENQUEUE_TIMEOUT_MS={enqueue_timeout_ms}: the enqueue's deadline "
                "includes waiting for the replicas"
            )
        return cls(
            core=core,
            allowed_orgs=_allowed_orgs(env),
            allowed_actions=_id_list(env, "SFGW_ALLOWED_ACTIONS"),
            max_body_bytes=env_int(
                env, "SFGW_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024, maximum=100 * 1024**2
            ),
            enqueue_timeout_ms=enqueue_timeout_ms,
            ready_timeout_ms=env_int(env, "SFGW_READY_TIMEOUT_MS", 500, minimum=50, maximum=10_000),
            dedupe_ttl_s=env_int(
                env,
                "SFGW_DEDUPE_TTL_S",
                7 * 24 * 3600,
                minimum=7 * 24 * 3600,
                maximum=90 * 24 * 3600,
            ),
            allowed_networks=env_networks(env, "SFGW_ALLOWED_NETWORKS"),
            trusted_proxies=env_networks(env, "SFGW_TRUSTED_PROXIES"),
            route_overrides=route_overrides_from_env(env),
            workers=env_int(env, "SFGW_WORKERS", 2 * (os.cpu_count() or 1), minimum=1, maximum=64),
            timeout_s=env_int(env, "SFGW_WORKER_TIMEOUT_S", 30, minimum=5, maximum=600),
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_client_ca=tls_client_ca,
            metrics_dir=Path(metrics_dir) if metrics_dir else None,
            trail=TrailSettings.from_env(env),
        )

    def route_for(self, contract: str, object_name: str) -> Route:
        """The queue/actor for a contract: an explicit ``SFGW_ROUTE_<CONTRACT>``, else the
        order pipeline for an Opportunity contract, else a queue and actor named after it.

        ``object_name`` is the sObject type's XML name from the WSDL, so any Opportunity
        outbound message (whatever its file is called) reaches the order pipeline.
        """
        return contract_route(contract, object_name, self.route_overrides)

    def check_routes(self, contracts: list[str]) -> None:
        """Refuse ``SFGW_ROUTE_X`` for a contract that does not exist (a typo loses routing)."""
        known = {name.upper() for name in contracts}
        for name in self.route_overrides:
            if name not in known:
                raise ConfigError(
                    f"{ROUTE_PREFIX}{name} names no outbound-message contract; "
                    f"known: {', '.join(sorted(known)) or '(none)'}"
                )


def _optional_file(env: Env, name: str) -> Path | None:
    raw = env_optional_str(env, name)
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name}={raw!r} is not a readable file")
    return path


def _id_list(env: Env, name: str) -> tuple[str, ...]:
    ids = []
    for item in env_list(env, name):
        if not sfid.is_valid(item):
            raise ConfigError(f"{name}: {item!r} is not a 15- or 18-character Salesforce id")
        ids.append(sfid.to15(item))
    return tuple(ids)


def _allowed_orgs(env: Env) -> tuple[str, ...] | None:
    raw = env_optional_str(env, "SFGW_ALLOWED_ORGS")
    if raw is None:
        raise ConfigError(
            "SFGW_ALLOWED_ORGS is not set; list your Salesforce org ids (00D..., comma-"
            "separated), or * to accept any org (development only)"
        )
    if raw == "*":
        return None
    return _id_list(env, "SFGW_ALLOWED_ORGS")
