"""The whole local stack as child processes: Redis, mock ERP, gateway, mock Salesforce, workers.

``sfgw demo``, the benchmarks and the system tests all need the same five parts wired to
each other, so the wiring lives here once::

    with start_stack(StackConfig(workdir=tmp_path)) as stack:
        ids = stack.salesforce.close_won(30)
        ...

Every part runs on a free loopback port in its own process group (see
:mod:`devstack.processes`). Start-up is all or nothing: when a part fails to start, the
parts already running are stopped before the error (:class:`StackError`, which names the
part and its log) reaches the caller. :meth:`Stack.stop` stops everything and may be
called any number of times.

Redis is an embedded server with append-only persistence unless ``redis_url`` is given;
then the stack uses a fresh unique key prefix, because a Redis we did not start may hold
someone else's data and must never be flushed.

A running stack can be changed without starting it again (what tests that share one stack
need): :meth:`Stack.reconfigure` switches the outbound message's contract and SessionIds
and the workers' settings, restarting only the workers and only when their settings
change; :meth:`Stack.kill_workers`, :meth:`Stack.start_workers` and
:meth:`Stack.restart_redis` are the crash and restart knobs of the fault tests.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from cryptography.fernet import Fernet
from redis import Redis, RedisError

from devstack.embedded_redis import EmbeddedRedis
from devstack.launch import RunningGateway, RunningWorkers, start_gateway, start_workers
from devstack.mocks import (
    RunningErp,
    RunningSalesforce,
    erp_url,
    salesforce_url,
    start_mock_erp,
    start_mock_salesforce,
)
from devstack.processes import ChildProcess, free_port
from gateway.redis_connection import RedisSettings, connect
from mock_salesforce.store import DEFAULT_FAULTS as DEFAULT_SALESFORCE_FAULTS

CALLBACK_APIS = ("rest", "collections", "soap")
CONTRACTS = ("opportunity_with_fields", "opportunity_id_only")
#: The External Client App the mock org registers and the workers log in with.
CLIENT_ID = "sfgw-client"
CLIENT_SECRET = "sfgw-secret"  # noqa: S105 - the mock org's, not a real secret

T = TypeVar("T")


class StackError(RuntimeError):
    """A part of the stack failed; ``part`` names it and ``log_path`` is where to look."""

    def __init__(self, part: str, problem: str, log_path: Path | None) -> None:
        where = f" (log: {log_path})" if log_path is not None else ""
        super().__init__(f"{part}: {problem}{where}")
        self.part = part
        self.problem = problem
        self.log_path = log_path


@dataclass(frozen=True)
class StackConfig:
    """What to run and how big. The defaults suit a 2-core laptop."""

    workdir: Path
    contract: str = "opportunity_with_fields"
    callback_api: str = "rest"
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

    def __post_init__(self) -> None:
        if self.callback_api not in CALLBACK_APIS:
            raise ValueError(f"callback_api must be one of {', '.join(CALLBACK_APIS)}")
        if self.contract not in CONTRACTS:
            raise ValueError(f"contract must be one of {', '.join(CONTRACTS)}")


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


@dataclass
class Stack:
    """The running parts and how to reach them. Stop it with :meth:`stop` (or ``with``)."""

    config: StackConfig
    redis_url: str
    redis_prefix: str
    secret_key: str
    redis: EmbeddedRedis | None = None
    erp: RunningErp | None = None
    gateway: RunningGateway | None = None
    salesforce: RunningSalesforce | None = None
    workers: RunningWorkers | None = None
    _stopped: bool = field(default=False, repr=False)
    _worker_runs: int = field(default=0, repr=False)
    _erp_port: int = field(default=0, repr=False)
    _salesforce_port: int = field(default=0, repr=False)

    # -- what is running -------------------------------------------------------------
    def parts(self) -> list[tuple[str, ChildProcess]]:
        """``(name, child)`` of every part that was started, in start order."""
        found: list[tuple[str, ChildProcess]] = []
        if self.redis is not None and self.redis.child is not None:
            found.append(("redis", self.redis.child))
        if self.erp is not None:
            found.append(("mock ERP", self.erp.child))
        if self.gateway is not None:
            found.append(("gateway", self.gateway.child))
        if self.salesforce is not None:
            found.append(("mock Salesforce", self.salesforce.process))
        if self.workers is not None:
            found.append(("workers", self.workers.child))
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

    # -- how to reach it -------------------------------------------------------------
    @property
    def erp_db(self) -> Path:
        return self.need(self.erp, "mock ERP").db_path

    @property
    def salesforce_db(self) -> Path:
        return self.need(self.salesforce, "mock Salesforce").db_path

    def cli_env(self) -> dict[str, str]:
        """What ``sfgw status`` / ``sfgw dlq`` need to look at this stack's Redis."""
        return {"SFGW_REDIS_URL": self.redis_url, "SFGW_REDIS_PREFIX": self.redis_prefix}

    def redis_client(self) -> Redis:
        return connect(RedisSettings.for_url(self.redis_url), timeout_s=10, connect_timeout_s=5)

    # -- starting and stopping ---------------------------------------------------------
    def start(self) -> Stack:
        """Start every part; on any failure (or interrupt) stop what started, then raise."""
        try:
            _start_parts(self)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every part, newest first (workers before the services they call).

        A second call does nothing: signalling a process group that is long gone could
        reach an unrelated group that got the same id since.
        """
        if self._stopped:
            return
        self._stopped = True
        problems: list[BaseException] = []
        # The workers first (they call the others), Redis last; the three services in
        # between do not call each other and stop together (each takes ~1 s).
        for stops in (
            [self._stop_workers],
            [self._stop_salesforce, self._stop_gateway, self._stop_erp],
            [self._stop_redis],
        ):
            problems += _call_together(stops)
        if problems:
            raise problems[0]

    def _stop_workers(self) -> None:
        self.stop_workers()

    def _stop_salesforce(self) -> None:
        if self.salesforce is not None:
            self.salesforce.stop()

    def _stop_gateway(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()

    def _stop_erp(self) -> None:
        if self.erp is not None:
            self.erp.stop()

    def _stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        elif self.config.redis_url is not None and self.config.redis_prefix is None:
            self.forget_keys()

    def forget_keys(self) -> int:
        """Delete this stack's keys from a Redis it did not start (its unique prefix only)."""
        client = self.redis_client()
        try:
            keys = list(client.scan_iter(match=f"{self.redis_prefix}:*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start : start + 500])
            return len(keys)
        except RedisError:
            return 0
        finally:
            client.close()

    # -- changing a running stack -------------------------------------------------------
    def reconfigure(self, config: StackConfig) -> None:
        """Make the running stack behave as if started with ``config``.

        Only :data:`SWITCHABLE_SETTINGS` may differ (anything else raises ``ValueError``
        naming the settings): the mock org's outbound message is redefined when its
        contract or SessionIds change, the ERP's faults are replaced, and the workers are
        restarted only when one of their settings changes (a start costs seconds).
        """
        self._check_running_stack("reconfigure")
        fixed = unswitchable_changes(self.config, config)
        if fixed:
            raise ValueError(f"cannot change {', '.join(fixed)} of a running stack")
        old, self.config = self.config, config
        changed = {
            f.name
            for f in dataclasses.fields(StackConfig)
            if getattr(old, f.name) != getattr(config, f.name)
        }
        if changed & OUTBOUND_SETTINGS:
            _point_salesforce_at(
                Stack.need(self.salesforce, "mock Salesforce"),
                Stack.need(self.gateway, "gateway"),
                config,
            )
        if "erp_faults" in changed:
            Stack.need(self.erp, "mock ERP").set_faults(config.erp_faults or {})
        if changed & WORKER_SETTINGS and self.workers is not None:
            self.restart_workers()

    def restart_workers(self) -> RunningWorkers:
        """A new worker group for the current config in place of the running one.

        The old group's graceful shutdown (seconds: in-flight messages finish) overlaps
        the new group's start-up; this returns once the old group has exited and every
        new worker process heartbeats, so no message is handled by the old settings
        after it returns.
        """
        self._check_running_stack("restart workers")
        old, self.workers = self.workers, None
        if old is None:
            return self.start_workers()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            stopping = pool.submit(old.stop)
            try:
                started = self.start_workers()
            finally:
                concurrent.futures.wait([stopping])
            stopping.result()  # a group that would not stop is an error too
        return started

    def reset_faults(self) -> None:
        """Undo the faults injected at run time: the ERP's go back to ``erp_faults``, the
        mock org's to none (so the next user of a shared stack starts clean)."""
        self._check_running_stack("reset faults")
        Stack.need(self.erp, "mock ERP").set_faults(self.config.erp_faults or {})
        Stack.need(self.salesforce, "mock Salesforce").set_faults(**DEFAULT_SALESFORCE_FAULTS)

    def start_workers(self) -> RunningWorkers:
        """Start a worker group when none runs (each run logs under its own directory,
        so the log of a group that was killed stays readable)."""
        self._check_running_stack("start workers")
        if self.workers is None:
            _start_workers(self)
        return Stack.need(self.workers, "workers")

    def stop_workers(self) -> None:
        """Stop the workers gracefully (in-flight messages finish or go back)."""
        workers, self.workers = self.workers, None
        if workers is not None:
            workers.stop()

    def kill_workers(self) -> None:
        """SIGKILL the whole worker group (a crash): its in-flight messages stay in Redis
        until the broker's heartbeat timeout gives them to the next workers."""
        workers, self.workers = self.workers, None
        if workers is not None:
            workers.kill()
            workers.stop()

    def restart_redis(self) -> None:
        """Stop the embedded Redis and start it again on the same port and data (its
        append-only file is all that carries over). A Redis we did not start is not ours
        to restart."""
        self._check_running_stack("restart Redis")
        if self.redis is None:
            raise StackError("redis", "only an embedded Redis can be restarted", None)
        self.redis.stop()
        self.redis.start(timeout=self.config.startup_timeout)

    def _check_running_stack(self, what: str) -> None:
        if self._stopped:
            raise StackError("stack", f"cannot {what}: the stack was stopped", None)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @staticmethod
    def need(part: T | None, name: str) -> T:
        """``part`` itself, or :class:`StackError` when it was never started."""
        if part is None:
            raise StackError(name, "not started", None)
        return part


def new_secret_key() -> str:
    return Fernet.generate_key().decode("ascii")


def start_stack(config: StackConfig) -> Stack:
    """Start every part and wire them together; all or nothing (see the module doc)."""
    stack = prepare_stack(config)
    stack.start()
    return stack


def prepare_stack(config: StackConfig) -> Stack:
    """The stack object, nothing started yet.

    Separate from :meth:`Stack.start` so a caller that handles signals can hold the
    object *before* anything runs: an interrupt that lands just as ``start`` returns
    then still finds every part through it.
    """
    config.workdir.mkdir(parents=True, exist_ok=True)
    if config.redis_url is None:
        prefix = config.redis_prefix or "sfgw"
    else:
        prefix = config.redis_prefix or f"sfgw-stack-{uuid.uuid4().hex[:12]}"
    secret_key = config.secret_key or os.environ.get("SFGW_SECRET_KEY") or new_secret_key()
    return Stack(
        config=config,
        redis_url=config.redis_url or "",
        redis_prefix=prefix,
        secret_key=secret_key,
    )


def _start_parts(stack: Stack) -> None:
    config = stack.config
    workdir = config.workdir
    if config.redis_url is None:
        embedded = EmbeddedRedis(workdir / "redis")
        stack.redis = embedded

        def start_redis() -> None:
            embedded.start(timeout=config.startup_timeout)

        _run_together({"redis": (workdir / "redis" / "redis.log", start_redis)})
        stack.redis_url = embedded.url
    else:
        _check_redis(stack)

    org_id = _org_id()
    gateway_env = {**_core_env(stack), "SFGW_ALLOWED_ORGS": org_id}
    # Ports chosen up front, so the workers know where the ERP and the org will be.
    stack._erp_port = free_port()
    stack._salesforce_port = free_port()

    def erp() -> None:
        stack.erp = start_mock_erp(
            workdir / "erp",
            faults=config.erp_faults,
            workers=config.erp_workers,
            port=stack._erp_port,
        )

    def gateway() -> None:
        stack.gateway = start_gateway(
            workdir / "gateway",
            redis_url=stack.redis_url,
            redis_prefix=stack.redis_prefix,
            env=gateway_env,
            workers=config.gateway_workers,
            timeout=config.startup_timeout,
        )

    def salesforce() -> None:
        stack.salesforce = start_mock_salesforce(
            workdir / "salesforce",
            gateway_url=None,
            contract=config.contract,
            send_session_id=config.session_ids,
            time_scale=config.time_scale,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            workers=config.salesforce_workers,
            env={**config.salesforce_env, "SFGW_MOCKSF_ORG_ID": org_id},
            startup_timeout=config.startup_timeout,
            port=stack._salesforce_port,
        )

    # No part needs another to start (the workers call the ERP and the org only once
    # messages arrive), so all four start together: start-up is mostly Python imports,
    # and overlapping them roughly halves it on a busy 2-core machine. The org learns
    # the gateway's URL afterwards.
    _run_together(
        {
            "mock ERP": (workdir / "erp" / "mock-erp.log", erp),
            "gateway": (workdir / "gateway", gateway),
            "mock Salesforce": (workdir / "salesforce" / "mock_salesforce.log", salesforce),
            **_workers_launcher(stack),
        }
    )
    _point_salesforce_at(
        Stack.need(stack.salesforce, "mock Salesforce"),
        Stack.need(stack.gateway, "gateway"),
        config,
    )


def _core_env(stack: Stack) -> dict[str, str]:
    return {"SFGW_SECRET_KEY": stack.secret_key, **stack.config.env}


def _start_workers(stack: Stack) -> None:
    """Start a worker group for ``stack.config``."""
    _run_together(_workers_launcher(stack))


def _workers_launcher(stack: Stack) -> dict[str, tuple[Path, Callable[[], None]]]:
    """The ``_run_together`` entry that starts a worker group for ``stack.config``, each
    group logging under its own directory (``workers``, ``workers-2``, ...)."""
    config = stack.config
    worker_env = {
        **_core_env(stack),
        **_callback_env(config, salesforce_url(stack._salesforce_port)),
        "SFGW_ERP_URL": erp_url(stack._erp_port),
        **config.worker_env,
    }
    stack._worker_runs += 1
    name = "workers" if stack._worker_runs == 1 else f"workers-{stack._worker_runs}"
    workdir = config.workdir / name

    def workers() -> None:
        stack.workers = start_workers(
            workdir,
            redis_url=stack.redis_url,
            redis_prefix=stack.redis_prefix,
            env=worker_env,
            processes=config.worker_processes,
            threads=config.worker_threads,
            timeout=config.startup_timeout,
        )

    return {"workers": (workdir / "worker.log", workers)}


def _run_together(starts: Mapping[str, tuple[Path, Callable[[], None]]]) -> None:
    """Run launchers in threads and wait for all of them, even through Ctrl-C.

    A launcher stores what it started on the :class:`Stack` as soon as it is up. Waiting
    for every thread to finish (also when the main thread is interrupted) means nothing
    is half-started when :meth:`Stack.stop` runs, so nothing is left behind.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(starts)) as pool:
        futures = {
            name: pool.submit(_starting, name, log, start) for name, (log, start) in starts.items()
        }
        try:
            concurrent.futures.wait(futures.values())
        except BaseException:
            pool.shutdown(wait=True)
            raise
    for future in futures.values():
        error = future.exception()
        if error is not None:
            raise error


def _call_together(calls: list[Callable[[], None]]) -> list[BaseException]:
    """Run ``calls`` in threads, wait for all of them (also through Ctrl-C) and return
    what they raised: stopping one part must not be skipped because another failed."""
    if len(calls) == 1:
        try:
            calls[0]()
        except BaseException as error:
            return [error]
        return []
    problems: list[BaseException] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        while True:
            try:
                concurrent.futures.wait(futures)
                break
            except BaseException as error:  # an interrupt: report it, keep waiting
                problems.append(error)
    return problems + [e for e in (f.exception() for f in futures) if e is not None]


def _org_id() -> str:
    from mock_salesforce.settings import DEFAULT_ORG_ID

    return DEFAULT_ORG_ID


def _callback_env(config: StackConfig, salesforce: str) -> dict[str, str]:
    """How the workers write back; ``salesforce`` is the org's URL (login and instance)."""
    env = {"SFGW_CALLBACK_API": config.callback_api}
    if config.session_ids:
        # Legacy mode: call back with the SessionId each message carries, to its
        # PartnerUrl, which is only trusted on an allowlisted host (the mock's loopback).
        env.update({"SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "127.0.0.1"})
    if not config.session_ids or config.oauth_fallback:
        env.update(
            {
                "SFGW_SF_AUTH": "client_credentials",
                "SFGW_SF_LOGIN_URL": salesforce,
                "SFGW_SF_CLIENT_ID": CLIENT_ID,
                "SFGW_SF_CLIENT_SECRET": CLIENT_SECRET,
            }
        )
    return env


def _point_salesforce_at(
    salesforce: RunningSalesforce, gateway: RunningGateway, config: StackConfig
) -> None:
    """One active outbound message (the chosen contract) sent to the gateway's route."""
    try:
        salesforce.set_definitions(
            [
                {
                    "name": config.contract,
                    "contract": config.contract,
                    "endpoint_url": gateway.outbound_url(config.contract),
                    "include_session_id": config.session_ids,
                }
            ]
        )
    except requests.RequestException as error:
        raise StackError(
            "mock Salesforce",
            f"could not set the outbound message definition ({error})",
            salesforce.process.log_path,
        ) from None


def _check_redis(stack: Stack) -> None:
    client = stack.redis_client()
    try:
        client.ping()
    except RedisError as error:
        raise StackError(
            "redis", f"cannot reach SFGW_REDIS_URL ({type(error).__name__}: {error})", None
        ) from None
    finally:
        client.close()


def _starting(part: str, log_path: Path, start: Callable[[], T]) -> T:
    """Run one launcher; any failure becomes a :class:`StackError` naming the part."""
    try:
        return start()
    except StackError:
        raise
    except Exception as error:
        first = _one_line(str(error)) or type(error).__name__
        if log_path.is_dir():
            logs = sorted(log_path.glob("*.log"))
            log_path = logs[-1] if logs else log_path
        raise StackError(part, f"did not start: {first}", log_path) from error


def _one_line(message: str, limit: int = 300) -> str:
    """A launcher's multi-line error (headline + log tail) as one line: the headline and
    the tail's last line, which is where a process says why it stopped."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    text = lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def iter_metric_samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    """``(name, labels, value)`` of every sample in a Prometheus text exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            yield sample.name, dict(sample.labels), float(sample.value)


def read_metrics(url: str, timeout: float = 10.0) -> list[tuple[str, dict[str, str], float]]:
    """Fetch and parse one ``/metrics`` page; an empty list when it does not answer."""
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException:
        return []
    return list(iter_metric_samples(response.text))


def metric_total(
    samples: list[tuple[str, dict[str, str], float]], name: str, **labels: Any
) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    return sum(
        value
        for sample_name, sample_labels, value in samples
        if sample_name == name and all(sample_labels.get(k) == v for k, v in labels.items())
    )
