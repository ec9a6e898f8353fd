"""The whole local stack as child processes: Redis, mock ERP, gateway, mock Salesforce, workers.

``sfgw demo``, the benchmarks and the system tests all need the same five parts wired to
each other, so the wiring lives here once::

    with start_stack(StackConfig(workdir=tmp_path)) as stack:
        ids = stack.salesforce.close_won(30)
        ...

Every part runs on a free loopback port in its own process group (see
:mod:`gateway.processes`). Start-up is all or nothing: when a part fails to start, the
parts already running are stopped before the error (:class:`StackError`, which names the
part and its log) reaches the caller. :meth:`Stack.stop` stops everything and may be
called any number of times.

Redis is an embedded server with append-only persistence unless ``redis_url`` is given;
then the stack uses a fresh unique key prefix, because a Redis we did not start may hold
someone else's data and must never be flushed.
"""

from __future__ import annotations

import concurrent.futures
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests
from cryptography.fernet import Fernet
from redis import Redis, RedisError

from gateway.embedded_redis import EmbeddedRedis
from gateway.intake.launch import RunningGateway, start_gateway
from gateway.pipeline.launch import RunningWorkers, start_workers
from gateway.processes import ChildProcess
from mock_erp.launch import RunningErp, start_mock_erp
from mock_salesforce.launch import RunningSalesforce, start_mock_salesforce

CALLBACK_APIS = ("rest", "collections", "soap")
CONTRACTS = ("opportunity_with_fields", "opportunity_id_only")

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
    #: Extra variables for the gateway and the workers (e.g. SFGW_RETRY_MIN_BACKOFF_MS).
    env: Mapping[str, str] = field(default_factory=dict)
    startup_timeout: float = 90.0

    def __post_init__(self) -> None:
        if self.callback_api not in CALLBACK_APIS:
            raise ValueError(f"callback_api must be one of {', '.join(CALLBACK_APIS)}")
        if self.contract not in CONTRACTS:
            raise ValueError(f"contract must be one of {', '.join(CONTRACTS)}")


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
        return Redis.from_url(self.redis_url, socket_timeout=10, socket_connect_timeout=5)

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
        for stop in (
            self._stop_workers,
            self._stop_salesforce,
            self._stop_gateway,
            self._stop_erp,
            self._stop_redis,
        ):
            try:
                stop()
            except BaseException as error:  # keep stopping the others
                problems.append(error)
        if problems:
            raise problems[0]

    def _stop_workers(self) -> None:
        if self.workers is not None:
            self.workers.stop()

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
    core_env = {"SFGW_SECRET_KEY": stack.secret_key, **config.env}
    gateway_env = {**core_env, "SFGW_ALLOWED_ORGS": org_id}

    def erp() -> None:
        stack.erp = start_mock_erp(workdir / "erp", workers=config.erp_workers)

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
            workers=config.salesforce_workers,
            env={"SFGW_MOCKSF_ORG_ID": org_id},
            startup_timeout=config.startup_timeout,
        )

    # The ERP, the gateway and the mock Salesforce do not need each other to start, so
    # they start together (start-up is mostly Python imports: this roughly halves it on
    # a busy 2-core machine). The Salesforce org learns the gateway's URL afterwards.
    _run_together(
        {
            "mock ERP": (workdir / "erp" / "mock-erp.log", erp),
            "gateway": (workdir / "gateway", gateway),
            "mock Salesforce": (workdir / "salesforce" / "mock_salesforce.log", salesforce),
        }
    )
    running_sf = Stack.need(stack.salesforce, "mock Salesforce")
    running_gw = Stack.need(stack.gateway, "gateway")
    running_erp = Stack.need(stack.erp, "mock ERP")
    _point_salesforce_at(running_sf, running_gw, config)

    worker_env = {**core_env, **_callback_env(config, running_sf), "SFGW_ERP_URL": running_erp.url}

    def workers() -> None:
        stack.workers = start_workers(
            workdir / "workers",
            redis_url=stack.redis_url,
            redis_prefix=stack.redis_prefix,
            env=worker_env,
            processes=config.worker_processes,
            threads=config.worker_threads,
            timeout=config.startup_timeout,
        )

    _run_together({"workers": (workdir / "workers" / "worker.log", workers)})


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


def _org_id() -> str:
    from mock_salesforce.settings import DEFAULT_ORG_ID

    return DEFAULT_ORG_ID


def _callback_env(config: StackConfig, salesforce: RunningSalesforce) -> dict[str, str]:
    env = {"SFGW_CALLBACK_API": config.callback_api}
    if config.session_ids:
        # Legacy mode: call back with the SessionId each message carries, to its
        # PartnerUrl, which is only trusted on an allowlisted host (the mock's loopback).
        env.update({"SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "127.0.0.1"})
    else:
        env.update(
            {
                "SFGW_SF_AUTH": "client_credentials",
                "SFGW_SF_LOGIN_URL": salesforce.url,
                "SFGW_SF_CLIENT_ID": salesforce.client_id,
                "SFGW_SF_CLIENT_SECRET": salesforce.client_secret,
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
