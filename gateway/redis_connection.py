"""How every sfgw process reaches Redis: one server by URL, or the master Sentinel names.

The gateway, the workers (Dramatiq's broker and the pipeline's stores), the CLI and the
contract test all connect here, so they agree on the server, the credentials and TLS, and
a change of how to connect is made once. Two layouts:

* ``SFGW_REDIS_URL``: one server (``redis://``, ``rediss://`` for TLS, ``unix://``).
* ``SFGW_REDIS_SENTINELS`` + ``SFGW_REDIS_SENTINEL_MASTER``: a master with replicas watched
  by Sentinels. A client from :func:`connect` follows the master the Sentinels name, and
  notices within a second when they name another one, without a restart
  (:mod:`gateway.redis_failover` says how, and what a process must do about it).

Setting both is a start-up error; so is half of the Sentinel pair. Passwords never appear
in a ``repr`` or a message (:meth:`RedisSettings.describe` is what errors print).

``SFGW_REDIS_MIN_REPLICAS`` is the durability an acknowledgement needs: the gateway acks a
message only after ``WAIT`` confirmed that many replicas hold its write
(:class:`ReplicaQuorum`, :func:`call_and_wait`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import redis
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.commands.core import Script
from redis.retry import Retry
from redis.sentinel import Sentinel

from gateway.config import (
    ConfigError,
    Env,
    env_bool,
    env_int,
    env_list,
    env_optional_str,
    env_url,
)
from gateway.redis_failover import FollowingPool

#: Sentinels answer from memory; a slow one is a lost one and discovery moves on.
SENTINEL_TIMEOUT_S = 1.0


class NotReplicated(redis.RedisError):
    """Redis took the write, but fewer replicas than required confirmed it in time."""


@dataclass(frozen=True)
class ReplicaQuorum:
    """How many replicas must confirm a write (``WAIT replicas timeout_ms``) before it is
    acknowledged to Salesforce."""

    replicas: int
    timeout_ms: int

    def check(self, confirmed: int) -> None:
        if confirmed < self.replicas:
            raise NotReplicated(
                f"{confirmed} of {self.replicas} replica(s) confirmed the write "
                f"within {self.timeout_ms} ms"
            )


@dataclass(frozen=True)
class RedisSettings:
    """Where Redis is and how to authenticate; built once from ``SFGW_REDIS_*``."""

    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)
    #: TLS to the Redis servers found through Sentinel (a URL says ``rediss://`` itself)
    tls: bool = False
    #: TLS to the Sentinels themselves
    sentinel_tls: bool = False
    tls_ca_file: Path | None = None
    min_replicas: int = 0
    replica_timeout_ms: int = 1000

    @classmethod
    def for_url(cls, url: str, **options: Any) -> RedisSettings:
        """One server by URL (tests, the dev stack)."""
        return cls(url=url, **options)

    @classmethod
    def from_env(cls, env: Env | None = None) -> RedisSettings:
        env = os.environ if env is None else env
        url = env_url(env, "SFGW_REDIS_URL", None, schemes=("redis", "rediss", "unix"))
        sentinels = tuple(_address(item) for item in env_list(env, "SFGW_REDIS_SENTINELS"))
        master = env_optional_str(env, "SFGW_REDIS_SENTINEL_MASTER")
        if url is not None and sentinels:
            raise ConfigError(
                "SFGW_REDIS_URL and SFGW_REDIS_SENTINELS are both set; set SFGW_REDIS_URL for "
                "one server or SFGW_REDIS_SENTINELS (with SFGW_REDIS_SENTINEL_MASTER), not both"
            )
        if sentinels and master is None:
            raise ConfigError(
                "SFGW_REDIS_SENTINELS needs SFGW_REDIS_SENTINEL_MASTER, the name the "
                "Sentinels monitor the master under (sentinel monitor <name> ...)"
            )
        if master is not None and not sentinels:
            raise ConfigError(
                "SFGW_REDIS_SENTINEL_MASTER is set but SFGW_REDIS_SENTINELS is not; list the "
                "Sentinels as host:port,host:port,..."
            )
        tls = env_bool(env, "SFGW_REDIS_TLS", False)
        ca_file = env_optional_str(env, "SFGW_REDIS_TLS_CA_FILE")
        if ca_file is not None and not Path(ca_file).is_file():
            raise ConfigError(f"SFGW_REDIS_TLS_CA_FILE={ca_file!r} is not a readable file")
        password = env_optional_str(env, "SFGW_REDIS_PASSWORD")
        db = env_int(env, "SFGW_REDIS_DB", 0, minimum=0, maximum=15)
        if url is not None:
            _check_url_options(env, url, tls=tls, password=password, ca_file=ca_file)
        settings = cls(
            url=url,
            sentinels=sentinels,
            sentinel_master=master,
            db=db,
            username=env_optional_str(env, "SFGW_REDIS_USERNAME"),
            password=password,
            sentinel_username=env_optional_str(env, "SFGW_REDIS_SENTINEL_USERNAME"),
            sentinel_password=env_optional_str(env, "SFGW_REDIS_SENTINEL_PASSWORD"),
            tls=tls,
            sentinel_tls=env_bool(env, "SFGW_REDIS_SENTINEL_TLS", tls),
            tls_ca_file=Path(ca_file) if ca_file else None,
            min_replicas=env_int(env, "SFGW_REDIS_MIN_REPLICAS", 0, minimum=0, maximum=16),
            replica_timeout_ms=env_int(
                env, "SFGW_REDIS_REPLICA_TIMEOUT_MS", 1000, minimum=10, maximum=50_000
            ),
        )
        return settings

    @property
    def configured(self) -> bool:
        return self.url is not None or bool(self.sentinels)

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)

    @property
    def quorum(self) -> ReplicaQuorum | None:
        """The replica confirmation an acknowledgement needs; ``None`` when none is."""
        if self.min_replicas == 0:
            return None
        return ReplicaQuorum(self.min_replicas, self.replica_timeout_ms)

    def describe(self) -> str:
        """Where Redis is, for messages: the variable that says so, never a password."""
        if self.uses_sentinel:
            listed = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"the master {self.sentinel_master!r} of Sentinels {listed}"
        if self.url is not None:
            return "SFGW_REDIS_URL"
        return "Redis (not configured)"

    def require(self) -> RedisSettings:
        """Itself, or a :class:`ConfigError` when no Redis is configured."""
        if not self.configured:
            raise ConfigError(
                "SFGW_REDIS_URL is not set (nor SFGW_REDIS_SENTINELS); point it at your "
                "Redis, e.g. redis://127.0.0.1:6379/0"
            )
        return self


def _address(item: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` from SFGW_REDIS_SENTINELS."""
    host, sep, port = item.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"SFGW_REDIS_SENTINELS: {item!r} is not host:port (e.g. 10.0.0.5:26379)")
    return host, int(port)


def _check_url_options(
    env: Env, url: str, *, tls: bool, password: str | None, ca_file: str | None
) -> None:
    """The settings that mean something else, or nothing, next to a URL."""
    parts = urlsplit(url)
    if tls and parts.scheme != "rediss":
        raise ConfigError(
            "SFGW_REDIS_TLS=true with SFGW_REDIS_URL: write the URL as rediss://... instead"
        )
    if ca_file is not None and parts.scheme != "rediss":
        raise ConfigError("SFGW_REDIS_TLS_CA_FILE needs a rediss:// SFGW_REDIS_URL (TLS)")
    if password is not None and parts.password:
        raise ConfigError(
            "SFGW_REDIS_PASSWORD and a password in SFGW_REDIS_URL are both set; keep one"
        )
    if env_optional_str(env, "SFGW_REDIS_DB") is not None:
        raise ConfigError("SFGW_REDIS_DB is for Sentinel; with SFGW_REDIS_URL put it in the URL")


def _retry(retries: int) -> Retry:
    if retries == 0:
        return Retry(NoBackoff(), 0)
    return Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries)


def connect(
    settings: RedisSettings,
    *,
    timeout_s: float,
    connect_timeout_s: float | None = None,
    retries: int = 3,
    health_check_interval: int = 0,
    client_name: str | None = None,
) -> redis.Redis:
    """A client of the Redis ``settings`` name (the current master under Sentinel).

    ``timeout_s`` bounds every command; ``retries`` is how often a command that met a
    broken connection is sent again (0 where a deadline must hold, as in the gateway:
    Salesforce is the retrier there). ``client_name`` shows in ``CLIENT LIST``.
    """
    settings.require()
    options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": connect_timeout_s or timeout_s,
        "socket_keepalive": True,
        "retry": _retry(retries),
        "health_check_interval": health_check_interval,
        "client_name": client_name,
        "username": settings.username,
        "password": settings.password,
    }
    if settings.url is not None:
        if settings.tls_ca_file is not None:
            options["ssl_ca_certs"] = str(settings.tls_ca_file)
        return redis.Redis.from_url(settings.url, **options)
    if settings.tls:
        options["ssl"] = True
        if settings.tls_ca_file is not None:
            options["ssl_ca_certs"] = str(settings.tls_ca_file)
    sentinel = Sentinel(
        list(settings.sentinels),
        sentinel_kwargs=_sentinel_options(settings, timeout_s),
        db=settings.db,
        **options,
    )
    client: redis.Redis = sentinel.master_for(
        str(settings.sentinel_master), connection_pool_class=FollowingPool
    )
    return client


def _sentinel_options(settings: RedisSettings, timeout_s: float) -> dict[str, Any]:
    timeout = min(timeout_s, SENTINEL_TIMEOUT_S)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        "username": settings.sentinel_username,
        "password": settings.sentinel_password,
    }
    if settings.sentinel_tls:
        options["ssl"] = True
        if settings.tls_ca_file is not None:
            options["ssl_ca_certs"] = str(settings.tls_ca_file)
    return options


def call_and_wait(
    client: redis.Redis,
    script: Script,
    keys: Sequence[str],
    args: Sequence[str | bytes | int],
    quorum: ReplicaQuorum,
) -> Any:
    """``script``'s reply once ``quorum`` replicas confirmed what it wrote, else
    :class:`NotReplicated`.

    The script and ``WAIT`` go out in one pipeline: one connection (``WAIT`` counts only
    its own connection's writes) and one round trip. A server that lost the script (a
    new master after a failover) answers NOSCRIPT and ran nothing; the script is loaded
    and the pipeline sent again.
    """
    try:
        reply, confirmed = _send_with_wait(client, script, keys, args, quorum)
    except redis.exceptions.NoScriptError:
        client.script_load(script.script)
        reply, confirmed = _send_with_wait(client, script, keys, args, quorum)
    quorum.check(int(confirmed))
    return reply


def _send_with_wait(
    client: redis.Redis,
    script: Script,
    keys: Sequence[str],
    args: Sequence[str | bytes | int],
    quorum: ReplicaQuorum,
) -> list[Any]:
    pipe = client.pipeline(transaction=False)
    pipe.evalsha(script.sha, len(keys), *keys, *args)
    pipe.wait(quorum.replicas, quorum.timeout_ms)
    replies: list[Any] = pipe.execute()
    return replies
