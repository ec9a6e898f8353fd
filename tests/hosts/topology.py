"""The whole flow on eight hosts: the plan, starting it, losing and rebuilding hosts.

::

    redis-a  .11  Redis (first master) + Sentinel      gw-1  .21  sfgw serve (gunicorn)
    redis-b  .12  Redis (first replica) + Sentinel     gw-2  .22  sfgw serve (gunicorn)
    witness  .13  the third Sentinel                   wk-1  .31  sfgw worker (+ relay)
    mocks    .41  mock ERP, mock Salesforce, the       wk-2  .32  sfgw worker (+ relay)
                  round robin in front of the gateways

Every sfgw process finds Redis through the three Sentinels (``SFGW_REDIS_SENTINELS``),
exactly as a deployment would. Servers listen on fixed ports: each host has its own.
The test reaches the hosts from threads on the mocks host (:attr:`Topology.mocks`),
which also sees the mocks' loopback-only admin endpoints.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import redis
import requests
from cryptography.fernet import Fernet

from devstack.mocks import RunningErp, RunningSalesforce
from devstack.processes import ChildProcess, port_is_open, wait_for_http
from devstack.sentinel import (
    MASTER_NAME,
    master_address,
    sentinel_argv,
    sentinel_config,
    server_argv,
)
from gateway.redis_connection import RedisSettings, connect
from tests.hosts.netns import Host, HostThreads, Lab

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
PLAN = {
    "redis-a": 11, "redis-b": 12, "witness": 13, "gw-1": 21, "gw-2": 22,
    "wk-1": 31, "wk-2": 32, "mocks": 41,
}  # fmt: skip
REDIS_HOSTS = ("redis-a", "redis-b")
SENTINEL_HOSTS = ("redis-a", "redis-b", "witness")
GATEWAYS = ("gw-1", "gw-2")
WORKERS = ("wk-1", "wk-2")
REDIS_PORT, SENTINEL_PORT, GATEWAY_PORT = 6379, 26379, 8000
ERP_PORT, SALESFORCE_PORT, BALANCER_PORT, METRICS_PORT = 8300, 8400, 8080, 9191
CONTRACT = "opportunity_with_fields"

#: Sentinel presumes the master dead after this much silence (production: 5,000 or more),
#: and retries a failover whose election split the votes after twice the failover
#: timeout (Redis's default of 180 s would stall every split vote for 6 minutes).
DOWN_AFTER_MS = 2000
FAILOVER_TIMEOUT_MS = 2000
#: A worker silent this long is presumed dead and its messages go to the others.
HEARTBEAT_TIMEOUT_MS = 4000
#: What the gateways start with; a test may restart them with other values.
GATEWAY_SETTINGS = {
    "SFGW_REDIS_MIN_REPLICAS": "1",
    "SFGW_REDIS_REPLICA_TIMEOUT_MS": "500",
    "SFGW_ENQUEUE_TIMEOUT_MS": "1500",
}
WORKER_SETTINGS = {
    "SFGW_WORKER_PROCESSES": "1",
    "SFGW_WORKER_THREADS": "8",
    "SFGW_CALLBACK_API": "collections",
    "SFGW_BROKER_HEARTBEAT_TIMEOUT_MS": str(HEARTBEAT_TIMEOUT_MS),
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "2000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "2000",
    "SFGW_SF_TIMEOUT_MS": "5000",
    # A batch of callbacks claimed by a worker that is cut off waits this long for it
    # (60 s by default); it must outlast a Salesforce call (SFGW_SF_TIMEOUT_MS).
    "SFGW_CALLBACK_LEASE_MS": "8000",
    "SFGW_ERP_READ_TIMEOUT_S": "5",
    "SFGW_ERP_CONNECT_TIMEOUT_S": "2",
}


@dataclass
class Topology:
    """The running hosts and their processes. :meth:`stop` ends all of it."""

    workdir: Path
    lab: Lab = field(default_factory=Lab)
    secret_key: str = field(default_factory=lambda: Fernet.generate_key().decode())
    gateway_settings: dict[str, str] = field(default_factory=lambda: dict(GATEWAY_SETTINGS))
    children: dict[str, dict[str, ChildProcess]] = field(default_factory=dict)
    mocks: HostThreads | None = None
    erp: RunningErp | None = None
    salesforce: RunningSalesforce | None = None
    _client: redis.Redis | None = None

    # -- where things are ------------------------------------------------------------
    def host(self, name: str) -> Host:
        return self.lab.hosts[name]

    def ip(self, name: str) -> str:
        return self.host(name).ip

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [(self.ip(name), SENTINEL_PORT) for name in SENTINEL_HOSTS]

    @property
    def redis_env(self) -> dict[str, str]:
        listed = ",".join(f"{host}:{port}" for host, port in self.sentinels)
        return {"SFGW_REDIS_SENTINELS": listed, "SFGW_REDIS_SENTINEL_MASTER": MASTER_NAME}

    def gateway_url(self, name: str) -> str:
        return f"http://{self.ip(name)}:{GATEWAY_PORT}"

    def on_mocks(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run ``fn`` on the mocks host (its sockets open there)."""
        assert self.mocks is not None
        return self.mocks.call(fn, *args, **kwargs)

    def master(self) -> str | None:
        """The host the Sentinels name as master now (``None``: none named)."""
        found = self.on_mocks(master_address, self.sentinels)
        if found is None:
            return None
        return next((name for name in REDIS_HOSTS if self.ip(name) == found[0]), None)

    def redis(self) -> redis.Redis:
        """A client through the Sentinels (one, kept); use it only inside
        :meth:`on_mocks`, where its connections open."""
        if self._client is None:  # short deadlines: it must not wait out a lost master
            settings = RedisSettings.from_env(self.redis_env)
            self._client = connect(settings, timeout_s=1, retries=0)
        return self._client

    # -- processes ---------------------------------------------------------------------
    def _env(self, extra: Mapping[str, str]) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("SFGW_")}
        return {**base, "SFGW_LOG_LEVEL": "WARNING", **extra}

    def _sfgw_env(self, extra: Mapping[str, str]) -> dict[str, str]:
        return self._env({**self.redis_env, "SFGW_SECRET_KEY": self.secret_key, **extra})

    def spawn(
        self, host: str, name: str, argv: list[str], env: Mapping[str, str] | None = None
    ) -> ChildProcess:
        workdir = self.workdir / host
        workdir.mkdir(parents=True, exist_ok=True)
        child = ChildProcess(
            f"{name}@{host}", self.host(host).argv(argv), env=dict(env or self._env({})),
            log_path=workdir / f"{name}.log", cwd=REPO,
        ).start()  # fmt: skip
        self.children.setdefault(host, {})[name] = child
        return child

    def wait_port(self, host: str, port: int, child: ChildProcess, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.on_mocks(port_is_open, self.ip(host), port):
            if not child.running():
                raise RuntimeError(f"{child.name} exited:\n{child.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} not listening after {timeout} s")
            time.sleep(0.1)

    def start_redis(self, host: str, replica_of: str | None) -> None:
        data = self.workdir / host / "redis"
        data.mkdir(parents=True, exist_ok=True)
        source = None if replica_of is None else (self.ip(replica_of), REDIS_PORT)
        argv = server_argv(host=self.ip(host), port=REDIS_PORT, data_dir=data, replica_of=source)
        self.wait_port(host, REDIS_PORT, self.spawn(host, "redis", argv))

    def start_sentinel(self, host: str, master: str) -> None:
        data = self.workdir / host / "sentinel"
        data.mkdir(parents=True, exist_ok=True)
        config = data / "sentinel.conf"
        config.write_text(
            sentinel_config(
                name=f"sentinel-{host}", host=self.ip(host), port=SENTINEL_PORT,
                master=(self.ip(master), REDIS_PORT), data_dir=data, down_after_ms=DOWN_AFTER_MS,
                failover_timeout_ms=FAILOVER_TIMEOUT_MS,
            )
        )  # fmt: skip
        self.wait_port(host, SENTINEL_PORT, self.spawn(host, "sentinel", sentinel_argv(config)))

    def wait_replicas(self, count: int, timeout: float = 30) -> None:
        """Until the master has ``count`` replicas in sync."""
        deadline = time.monotonic() + timeout

        def online() -> int:
            info = self.redis().info("replication")
            return sum(
                1 for key, value in info.items()
                if key.startswith("slave") and isinstance(value, dict)
                and value.get("state") == "online"
            )  # fmt: skip

        while True:
            try:
                if self.on_mocks(online) >= count:
                    return
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the master has no {count} replica(s) in sync")
            time.sleep(0.1)

    def start_gateway(self, host: str) -> None:
        argv = [sys.executable, "-m", "gateway.cli", "serve"]
        argv += ["--bind", f"0.0.0.0:{GATEWAY_PORT}", "--workers", "2"]
        env = {
            "SFGW_ALLOWED_ORGS": "*",
            "SFGW_METRICS_DIR": str(self.workdir / host / "metrics"),
            **self.gateway_settings,
        }
        child = self.spawn(host, "gateway", argv, self._sfgw_env(env))
        self.on_mocks(wait_for_http, child, self.gateway_url(host) + "/healthz", 90)

    def restart_gateways(self, settings: Mapping[str, str]) -> None:
        self.gateway_settings = {**GATEWAY_SETTINGS, **settings}
        for host in GATEWAYS:
            self.children[host].pop("gateway").stop()
        _together({host: (lambda h=host: self.start_gateway(h)) for host in GATEWAYS})

    def start_worker(self, host: str) -> None:
        relay = [sys.executable, "-m", "tests.hosts.relay"]
        relay += [f"127.0.0.1:{SALESFORCE_PORT}", f"{self.ip('mocks')}:{SALESFORCE_PORT}"]
        self.spawn(host, "relay", relay)
        env = {
            **WORKER_SETTINGS,
            "SFGW_ERP_URL": f"http://{self.ip('mocks')}:{ERP_PORT}/erp/orders",
            "SFGW_SF_AUTH": "client_credentials",
            "SFGW_SF_LOGIN_URL": f"http://127.0.0.1:{SALESFORCE_PORT}",
            "SFGW_SF_CLIENT_ID": "sfgw-client",
            "SFGW_SF_CLIENT_SECRET": "sfgw-secret",
            "SFGW_WORKER_METRICS_PORT": str(METRICS_PORT),
            "SFGW_WORKER_METRICS_HOST": "0.0.0.0",  # noqa: S104 - its own host's address
            "SFGW_WORKER_METRICS_DIR": str(self.workdir / host / "prometheus"),
        }
        child = self.spawn(host, "worker", [sys.executable, "-m", "gateway.cli", "worker"],
                           self._sfgw_env(env))  # fmt: skip
        self.wait_port(host, METRICS_PORT, child, timeout=90)

    def start_mocks(self) -> None:
        data = self.workdir / "mocks"
        data.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "gateway.cli", "erp", "serve", "--workers", "2"]
        argv += ["--bind", f"0.0.0.0:{ERP_PORT}", "--db", str(data / "erp.sqlite3")]
        erp = self.spawn("mocks", "erp", argv)
        local = f"http://127.0.0.1:{ERP_PORT}"
        self.erp = RunningErp(f"{local}/erp/orders", f"{local}/__admin/faults",
                              data / "erp.sqlite3", erp)  # fmt: skip
        balancer = [sys.executable, "-m", "tests.hosts.roundrobin"]
        balancer += [f"{self.ip('mocks')}:{BALANCER_PORT}", str(data / "balancer.jsonl")]
        balancer += [self.gateway_url(host) for host in GATEWAYS]
        self.spawn("mocks", "balancer", balancer)
        salesforce = self.spawn(
            "mocks", "salesforce",
            [sys.executable, "-m", "gateway.cli", "salesforce", "serve", "--workers", "2",
             "--bind", f"0.0.0.0:{SALESFORCE_PORT}"],
            self._env({
                "SFGW_MOCKSF_DB": str(data / "salesforce.sqlite3"),
                "SFGW_MOCKSF_CONTRACTS": CONTRACT,
                "SFGW_MOCKSF_TIME_SCALE": "1000",
                "SFGW_MOCKSF_MIN_ATTEMPT_TIMEOUT": "5",
                "SFGW_MOCKSF_BASE_URL": f"http://127.0.0.1:{SALESFORCE_PORT}",
                "SFGW_MOCKSF_GATEWAY_URL": f"http://{self.ip('mocks')}:{BALANCER_PORT}",
            }),
        )  # fmt: skip
        url = f"http://127.0.0.1:{SALESFORCE_PORT}"
        self.on_mocks(self.erp.wait_ready, 90)
        self.on_mocks(wait_for_http, salesforce, f"{url}/healthz", 90)
        org = self.on_mocks(lambda: requests.get(f"{url}/admin/org", timeout=30).json())
        self.salesforce = RunningSalesforce(
            url, org["org_id"], data / "salesforce.sqlite3", salesforce,
            "sfgw-client", "sfgw-secret", "integration@sfgw.example", url,
        )  # fmt: skip

    def start(self) -> Topology:
        try:
            self.lab.build()
            for name, number in PLAN.items():
                self.lab.add_host(name, number)
            self.mocks = HostThreads(self.host("mocks"), threads=8)
            self.start_redis("redis-a", None)
            self.start_redis("redis-b", "redis-a")
            for host in SENTINEL_HOSTS:
                self.start_sentinel(host, "redis-a")
            self.wait_replicas(1)
            parts: dict[str, Callable[[], None]] = {"mocks": self.start_mocks}
            for host in GATEWAYS:
                parts[host] = lambda h=host: self.start_gateway(h)
            for host in WORKERS:
                parts[host] = lambda h=host: self.start_worker(h)
            _together(parts)
        except BaseException:
            self.stop()
            raise
        return self

    # -- host faults -------------------------------------------------------------------
    def lose(self, host: str) -> None:
        """The machine is gone: its link down, every process SIGKILLed, its data deleted."""
        self.lab.cut(self.host(host))
        for child in self.children.pop(host, {}).values():
            child.kill()
        shutil.rmtree(self.workdir / host, ignore_errors=True)

    def rebuild_redis(self, host: str) -> None:
        """A fresh machine in the lost one's place: an empty Redis replicating from the
        current master, and its Sentinel (same identity) watching that master."""
        master = self.master()
        assert master is not None and master != host, f"no master to rebuild from: {master}"
        self.lab.heal(self.host(host))
        self.start_redis(host, master)
        self.start_sentinel(host, master)

    def stop(self) -> None:
        for processes in self.children.values():
            for child in processes.values():
                child.kill() if child.process is not None else None
        self.children.clear()
        if self.mocks is not None:
            self.mocks.close()
        self.lab.destroy()


def _together(parts: Mapping[str, Callable[[], Any]]) -> None:
    """Run the start-up steps at once (mostly Python imports); the first error wins."""
    with concurrent.futures.ThreadPoolExecutor(len(parts)) as pool:
        futures = {name: pool.submit(step) for name, step in parts.items()}
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                raise RuntimeError(f"{name} did not start: {error}") from error
