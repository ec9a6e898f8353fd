"""Starting a stack's parts and wiring them to each other.

No part needs another to start (the workers call the ERP and the org only once messages
arrive, on ports chosen up front), so the parts start together in threads: start-up is
mostly Python imports, and overlapping them roughly halves it on a busy 2-core machine.
The org learns where its outbound message goes once it runs. A launcher stores what it
started on the stack as soon as it is up, and :func:`run_together` waits for every
launcher even through Ctrl-C, so nothing is half-started when the stack is stopped.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import requests
from redis import RedisError

from devstack import envs
from devstack.config import (
    CLIENT_ID,
    CLIENT_SECRET,
    ERP,
    GATEWAY,
    REDIS,
    SALESFORCE,
    WORKERS,
    StackConfig,
)
from devstack.embedded_redis import EmbeddedRedis
from devstack.errors import StackError
from devstack.holdproxy import HoldProxy
from devstack.launch import RunningGateway, RunningWorkers, start_gateway, start_workers
from devstack.mocks import start_mock_erp, start_mock_salesforce
from devstack.parts import StackParts

T = TypeVar("T")
Launchers = dict[str, tuple[Path, Callable[[], None]]]


def start_parts(stack: StackParts) -> None:
    """Start the configured parts (Redis first: the gateway and workers check it)."""
    config = stack.config
    if REDIS in config.parts:
        start_redis(stack)
    launchers: Launchers = {}
    for part in (ERP, GATEWAY, SALESFORCE, WORKERS):
        if part in config.parts:
            launchers.update(launcher(stack, part))
    run_together(launchers)
    if SALESFORCE in config.parts:
        define_outbound(stack)


def start_part(stack: StackParts, part: str) -> None:
    """Start one part that did not start with the stack, on its reserved port."""
    if part == REDIS:
        start_redis(stack)
        return
    run_together(launcher(stack, part))
    if part in (SALESFORCE, GATEWAY) and stack.salesforce is not None:
        define_outbound(stack)


def start_redis(stack: StackParts) -> None:
    """The embedded server under ``workdir/redis`` (restartable on the same port and
    data), or a check that the configured ``redis_url`` answers."""
    config = stack.config
    if config.redis_url is not None:
        check_redis(stack)
        return
    embedded = stack.redis or EmbeddedRedis(config.workdir / "redis")
    stack.redis = embedded

    def start() -> None:
        embedded.start(timeout=config.startup_timeout)

    run_together({REDIS: (config.workdir / "redis" / "redis.log", start)})
    stack.redis_url = embedded.url


def launcher(stack: StackParts, part: str) -> Launchers:
    """The :func:`run_together` entry that starts ``part`` and stores it on ``stack``."""
    config = stack.config
    workdir = config.workdir
    if part == WORKERS:
        return workers_launcher(stack)
    if part == ERP:

        def erp() -> None:
            stack.erp = start_mock_erp(
                workdir / "erp",
                faults=config.erp_faults,
                workers=config.erp_workers,
                port=stack.erp_port,
            )

        return {ERP: (workdir / "erp" / "mock-erp.log", erp)}
    if part == GATEWAY:

        def gateway() -> None:
            stack.gateway = launch_gateway(stack, workdir / "gateway")

        return {GATEWAY: (workdir / "gateway", gateway)}
    if part == SALESFORCE:
        return {SALESFORCE: (workdir / "salesforce" / "mock_salesforce.log", _org_starter(stack))}
    raise ValueError(f"unknown part {part!r}")


def _org_starter(stack: StackParts) -> Callable[[], None]:
    config = stack.config
    env = {**config.salesforce_env, "SFGW_MOCKSF_ORG_ID": org_id(config)}
    if config.hold_proxy:
        proxy = stack.hold_proxy or HoldProxy()
        proxy.target_port = stack.salesforce_port
        stack.hold_proxy = proxy
        # The instance URL its token responses name: API calls pass through the proxy,
        # token requests (to the login URL the workers are given) do not.
        env["SFGW_MOCKSF_BASE_URL"] = proxy.url

    def salesforce() -> None:
        stack.salesforce = start_mock_salesforce(
            config.workdir / "salesforce",
            gateway_url=None,
            contract=config.contract,
            send_session_id=config.session_ids,
            time_scale=config.time_scale,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            workers=config.salesforce_workers,
            env=env,
            startup_timeout=config.startup_timeout,
            port=stack.salesforce_port,
        )

    return salesforce


def launch_gateway(
    stack: StackParts,
    workdir: Path,
    *,
    app: str | None = None,
    env: Mapping[str, str] | None = None,
    workers: int | None = None,
) -> RunningGateway:
    """A gateway on this stack's Redis accepting its orgs (``app``: another WSGI app)."""
    config = stack.config
    _need_redis(stack, GATEWAY)
    return start_gateway(
        workdir,
        redis_url=stack.redis_url,
        redis_prefix=stack.redis_prefix,
        env={
            **envs.gateway_env(config, secret_key=stack.secret_key, org_id=org_id(config)),
            **(env or {}),
        },
        workers=config.gateway_workers if workers is None else workers,
        timeout=config.startup_timeout,
        app=app,
    )


def workers_launcher(stack: StackParts) -> Launchers:
    """The :func:`run_together` entry that starts the stack's worker group."""
    workdir = next_workers_dir(stack)

    def workers() -> None:
        stack.workers = launch_workers(stack, workdir, stack.config)

    return {WORKERS: (workdir / "worker.log", workers)}


def next_workers_dir(stack: StackParts) -> Path:
    """``workers``, ``workers-2``, ...: every group logs under its own directory, so the
    log of a group that was killed stays readable."""
    stack._worker_runs += 1
    runs = stack._worker_runs
    return stack.config.workdir / ("workers" if runs == 1 else f"workers-{runs}")


def launch_workers(
    stack: StackParts,
    workdir: Path,
    config: StackConfig,
    *,
    redis_prefix: str | None = None,
    overrides: dict[str, str] | None = None,
) -> RunningWorkers:
    """A worker group for ``config`` (a variant of the stack's) on this stack's Redis."""
    _need_redis(stack, WORKERS)
    return start_workers(
        workdir,
        redis_url=stack.redis_url,
        redis_prefix=redis_prefix or stack.redis_prefix,
        env=stack.worker_env(config, overrides),
        processes=config.worker_processes,
        threads=config.worker_threads,
        timeout=config.startup_timeout,
    )


def variant(config: StackConfig, **changes: Any) -> StackConfig:
    """``config`` with ``changes``, the ``None`` ones left out."""
    return dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})


def define_outbound(stack: StackParts) -> None:
    """The org's one active outbound message (the chosen contract), sent where
    ``config.outbound`` says; no definition for ``"none"``."""
    config = stack.config
    salesforce = stack.need(stack.salesforce, SALESFORCE)
    definitions: list[dict[str, Any]] = []
    if config.outbound != "none":
        if config.outbound == "gateway":
            if stack.gateway is None:
                return  # defined once the gateway runs (start_part)
            endpoint = stack.gateway.outbound_url(config.contract)
        else:
            endpoint = (
                f"http://127.0.0.1:{stack.nowhere_port}/salesforce/outbound/{config.contract}"
            )
        definitions.append(
            {
                "name": config.contract,
                "contract": config.contract,
                "endpoint_url": endpoint,
                "include_session_id": config.session_ids,
            }
        )
    try:
        salesforce.set_definitions(definitions)
    except requests.RequestException as error:
        raise StackError(
            SALESFORCE,
            f"could not set the outbound message definition ({error})",
            salesforce.process.log_path,
        ) from None


def org_id(config: StackConfig) -> str:
    """The mock org's id: its default unless ``salesforce_env`` names another."""
    from mock_salesforce.settings import DEFAULT_ORG_ID

    return config.salesforce_env.get("SFGW_MOCKSF_ORG_ID", DEFAULT_ORG_ID)


def check_redis(stack: StackParts) -> None:
    client = stack.redis_client()
    try:
        client.ping()
    except RedisError as error:
        raise StackError(
            REDIS, f"cannot reach SFGW_REDIS_URL ({type(error).__name__}: {error})", None
        ) from None
    finally:
        client.close()


def _need_redis(stack: StackParts, part: str) -> None:
    if not stack.redis_url:
        raise StackError(part, "needs Redis, which is not started", None)


def run_together(starts: Mapping[str, tuple[Path, Callable[[], None]]]) -> None:
    """Run launchers in threads and wait for all of them, even through Ctrl-C; the first
    failure is raised as a :class:`StackError` naming its part."""
    if not starts:
        return
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


def call_together(calls: list[Callable[[], None]]) -> list[BaseException]:
    """Run ``calls`` in threads, wait for all of them (also through Ctrl-C) and return
    what they raised: stopping one part must not be skipped because another failed."""
    if not calls:
        return []
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


def _starting(part: str, log_path: Path, start: Callable[[], T]) -> T:
    """Run one launcher; any failure becomes a :class:`StackError` naming the part."""
    try:
        return start()
    except StackError:
        raise
    except Exception as error:
        first = one_line(str(error)) or type(error).__name__
        if log_path.is_dir():
            logs = sorted(log_path.glob("*.log"))
            log_path = logs[-1] if logs else log_path
        raise StackError(part, f"did not start: {first}", log_path) from error


def one_line(message: str, limit: int = 300) -> str:
    """A launcher's multi-line error (headline + log tail) as one line: the headline and
    the tail's last line, which is where a process says why it stopped."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if not lines:
        return ""
    text = lines[0] if len(lines) == 1 else f"{lines[0].rstrip(':')}: {lines[-1]}"
    return text if len(text) <= limit else text[: limit - 3] + "..."
