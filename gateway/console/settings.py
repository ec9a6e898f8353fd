"""The console's settings, and the rule that keeps it off the internet without a login.

Bound to a loopback address the console may run without a login (whoever can reach it
can already reach Redis on that machine). Bound to anything else it refuses to start
unless ``SFGW_CONSOLE_TOKEN`` is set: the error is one line naming the variable and the
fix. With a token set, a login is required on every address.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

from gateway.broker import BrokerSettings
from gateway.config import ConfigError, Env, env_bool, env_int, env_optional_str, env_str
from gateway.routes import Route, route_overrides_from_env
from gateway.settings import CoreSettings
from gateway.trail import TrailSettings

MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ConsoleSettings:
    core: CoreSettings
    bind: str
    token: str | None = field(default=None, repr=False)
    read_only: bool = False
    session_ttl_s: int = 8 * 3600
    #: the workers' Prometheus endpoint: API calls and the org's usage "as far as we know"
    worker_metrics_url: str | None = None
    trail: TrailSettings = field(default_factory=TrailSettings)
    #: the contracts' route overrides (``SFGW_ROUTE_*``), so the overview shows every
    #: queue the gateway fills, as ``sfgw status`` does
    routes: dict[str, Route] = field(default_factory=dict)
    broker: BrokerSettings = field(
        default_factory=lambda: BrokerSettings(heartbeat_timeout_ms=15_000,
                                               maintenance_chance=100_000, retry_enqueue_s=60)
    )  # fmt: skip

    @property
    def login_required(self) -> bool:
        return self.token is not None

    @property
    def loopback(self) -> bool:
        return is_loopback_bind(self.bind)

    @classmethod
    def from_env(cls, env: Env | None = None, *, bind: str | None = None) -> ConsoleSettings:
        env = os.environ if env is None else env
        bind = bind or env_str(env, "SFGW_CONSOLE_BIND", "127.0.0.1:8080")
        token = env_optional_str(env, "SFGW_CONSOLE_TOKEN")
        check_bind(bind, token)
        port = env_int(env, "SFGW_WORKER_METRICS_PORT", 9191, minimum=0, maximum=65535)
        host = env_str(env, "SFGW_WORKER_METRICS_HOST", "127.0.0.1")
        default_metrics = f"http://{host}:{port}/metrics" if port else None
        return cls(
            core=CoreSettings.from_env(env),
            bind=bind,
            token=token,
            read_only=env_bool(env, "SFGW_CONSOLE_READ_ONLY", False),
            session_ttl_s=env_int(env, "SFGW_CONSOLE_SESSION_TTL_S", 8 * 3600, minimum=60,
                                  maximum=7 * 86400),
            worker_metrics_url=env_optional_str(env, "SFGW_CONSOLE_WORKER_METRICS_URL")
            or default_metrics,
            trail=TrailSettings.from_env(env),
            routes=route_overrides_from_env(env),
            broker=BrokerSettings.from_env(env),
        )  # fmt: skip


def split_bind(bind: str) -> tuple[str, int]:
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--bind {bind!r}: use HOST:PORT, e.g. 127.0.0.1:8080")
    return host, int(port)


def is_loopback_bind(bind: str) -> bool:
    host, _ = split_bind(bind)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name could resolve to anything


def check_bind(bind: str, token: str | None) -> None:
    """Refuse a non-loopback listener without a login, and a token too short to matter."""
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"SFGW_CONSOLE_TOKEN is shorter than {MIN_TOKEN_CHARS} characters; use a long "
            "random one: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if token is None and not is_loopback_bind(bind):
        raise ConfigError(
            f"refusing to serve the console on {bind} without a login: set "
            "SFGW_CONSOLE_TOKEN to a long random secret (python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))') or bind to 127.0.0.1"
        )
