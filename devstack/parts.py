"""A stack's parts and how to reach them: the state the other stack modules share.

:class:`StackParts` holds what is running (or was started and stopped) and the loopback
ports chosen before anything started, so that every part knows where the others will be
even when one of them starts later. :mod:`devstack.observe` adds the observers,
:mod:`devstack.stack` the lifecycle, :mod:`devstack.wiring` the starting.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from redis import Redis

from devstack import envs
from devstack.config import ERP, GATEWAY, REDIS, SALESFORCE, WORKERS, StackConfig
from devstack.embedded_redis import EmbeddedRedis
from devstack.errors import StackError
from devstack.holdproxy import HoldProxy
from devstack.launch import RunningGateway, RunningWorkers
from devstack.mocks import RunningErp, RunningSalesforce, erp_url, salesforce_url
from devstack.processes import ChildProcess
from gateway.redis_connection import RedisSettings, connect
from gateway.settings import CoreSettings

T = TypeVar("T")


@dataclass
class StackParts:
    """The running parts and how to reach them."""

    config: StackConfig
    redis_url: str
    redis_prefix: str
    secret_key: str
    #: Loopback ports chosen up front: the ERP's and the org's (workers are told them
    #: before either runs) and one nothing listens on (``outbound="nowhere"``).
    erp_port: int = 0
    salesforce_port: int = 0
    nowhere_port: int = 0
    redis: EmbeddedRedis | None = None
    erp: RunningErp | None = None
    gateway: RunningGateway | None = None
    salesforce: RunningSalesforce | None = None
    workers: RunningWorkers | None = None
    hold_proxy: HoldProxy | None = None
    #: Gateways and worker groups started besides the configured ones (same Redis).
    extra_gateways: list[RunningGateway] = field(default_factory=list)
    extra_workers: list[RunningWorkers] = field(default_factory=list)
    _stopped: bool = field(default=False, repr=False)
    _worker_runs: int = field(default=0, repr=False)

    # -- what is running -------------------------------------------------------------
    def parts(self) -> list[tuple[str, ChildProcess]]:
        """``(name, child)`` of every part that runs or ran, in start order."""
        found: list[tuple[str, ChildProcess]] = []
        if self.redis is not None and self.redis.child is not None:
            found.append((REDIS, self.redis.child))
        if self.erp is not None:
            found.append((ERP, self.erp.child))
        if self.gateway is not None:
            found.append((GATEWAY, self.gateway.child))
        found += [(f"{GATEWAY} {n}", g.child) for n, g in enumerate(self.extra_gateways, 2)]
        if self.salesforce is not None:
            found.append((SALESFORCE, self.salesforce.process))
        if self.workers is not None:
            found.append((WORKERS, self.workers.child))
        found += [(f"{WORKERS} {n}", w.child) for n, w in enumerate(self.extra_workers, 2)]
        return found

    def pids(self) -> list[int]:
        return [child.pid for _, child in self.parts() if child.process is not None]

    def check_running(self) -> None:
        """Raise :class:`StackError` naming the first part whose process has exited."""
        for name, child in self.parts():
            if not child.running():
                code = child.process.returncode if child.process is not None else None
                raise StackError(name, f"exited unexpectedly (exit code {code})", child.log_path)

    def log_of(self, part: str) -> Path | None:
        return dict((name, child.log_path) for name, child in self.parts()).get(part)

    def logs(self, lines: int = 20) -> str:
        """The last ``lines`` of every part's log, newest part first (for failures)."""
        return "\n".join(
            f"--- {name} ---\n{child.log_tail(lines)}" for name, child in reversed(self.parts())
        )

    # -- how to reach it -------------------------------------------------------------
    @property
    def erp_db(self) -> Path:
        return self.need(self.erp, ERP).db_path

    @property
    def salesforce_db(self) -> Path:
        return self.need(self.salesforce, SALESFORCE).db_path

    @property
    def erp_url(self) -> str:
        """The ERP's order service, whether or not it runs yet."""
        return erp_url(self.erp_port)

    @property
    def salesforce_url(self) -> str:
        """The org's login URL, whether or not it runs yet."""
        return salesforce_url(self.salesforce_port)

    def cli_env(self) -> dict[str, str]:
        """What ``sfgw status`` / ``sfgw dlq`` need to look at this stack's Redis."""
        return {"SFGW_REDIS_URL": self.redis_url, "SFGW_REDIS_PREFIX": self.redis_prefix}

    def core_env(self) -> dict[str, str]:
        """:meth:`cli_env` and the secret key (``dlq replay`` re-encrypts nothing, but a
        worker-side command reads stored SessionIds)."""
        return {**self.cli_env(), "SFGW_SECRET_KEY": self.secret_key}

    def core(self) -> CoreSettings:
        """The product's view of this stack's Redis (key prefix, namespaces)."""
        return CoreSettings.from_env({**os.environ, **self.core_env()})

    def worker_env(
        self, config: StackConfig | None = None, overrides: dict[str, str] | None = None
    ) -> dict[str, str]:
        """A worker group's environment for ``config`` (default: the stack's), wired to
        this stack's ERP and org (see :func:`devstack.envs.worker_env`)."""
        return envs.worker_env(
            config or self.config,
            secret_key=self.secret_key,
            salesforce_url=self.salesforce_url,
            erp_url=self.erp_url,
            overrides=overrides,
        )

    def redis_client(self) -> Redis:
        return connect(RedisSettings.for_url(self.redis_url), timeout_s=10, connect_timeout_s=5)

    @staticmethod
    def need(part: T | None, name: str) -> T:
        """``part`` itself, or :class:`StackError` when it was never started."""
        if part is None:
            raise StackError(name, "not started", None)
        return part
