"""The whole local stack as child processes: Redis, mock ERP, gateway, mock Salesforce, workers.

``sfgw demo``, the benchmarks and the system tests all need the same five parts wired to
each other, so the wiring lives here once::

    with start_stack(StackConfig(workdir=tmp_path)) as stack:
        ids = stack.salesforce.close_won(30)
        stack.wait_settled(ids)

Every part runs on a free loopback port in its own process group (see
:mod:`devstack.processes`). Start-up is all or nothing: when a part fails to start, the
parts already running are stopped before the error (:class:`StackError`, which names the
part and its log) reaches the caller. :meth:`Stack.stop` stops everything and may be
called any number of times.

Redis is an embedded server with append-only persistence unless ``redis_url`` is given;
then the stack uses a fresh unique key prefix, because a Redis we did not start may hold
someone else's data and must never be flushed.

``StackConfig.parts`` starts a subset (the org alone, the org and workers without an
ERP, ...); the others can start later on the ports reserved for them
(:meth:`Stack.start_part`). A running stack can be changed without starting it again
(what tests that share one stack need): :meth:`Stack.reconfigure` switches the outbound
message's contract and SessionIds and the workers' settings, restarting only the workers
and only when their settings change. The crash and restart knobs of the fault tests are
:meth:`Stack.kill_workers`, :meth:`Stack.crash_redis` / :meth:`Stack.start_redis` and
:meth:`Stack.restart_redis`; extra gateways (another WSGI app) and extra worker groups
(another mode, size or key prefix) run on the same Redis and stop with the stack. What
the parts recorded is read through the observers (:mod:`devstack.observe`).
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from cryptography.fernet import Fernet
from redis import RedisError

from devstack import wiring
from devstack.config import (
    CONTRACTS,
    ERP,
    GATEWAY,
    OUTBOUND_SETTINGS,
    REDIS,
    SALESFORCE,
    SWITCHABLE_SETTINGS,
    WORKER_SETTINGS,
    WORKERS,
    StackConfig,
    changed_settings,
    unswitchable_changes,
)
from devstack.embedded_redis import EmbeddedRedis
from devstack.errors import NotSettled, StackError
from devstack.launch import RunningGateway, RunningWorkers
from devstack.observe import StackObservers
from devstack.processes import free_port
from gateway.salesforce.settings import CALLBACK_APIS
from mock_salesforce.store import DEFAULT_FAULTS as DEFAULT_SALESFORCE_FAULTS
from mock_salesforce.store.apex_classes import DML_ROW_LIMIT

if TYPE_CHECKING:
    from gateway.jobs import NotificationJob
    from gateway.pipeline.callbacks.job import CallbackJob

__all__ = [
    "CALLBACK_APIS",
    "CONTRACTS",
    "SWITCHABLE_SETTINGS",
    "NotSettled",
    "Stack",
    "StackConfig",
    "StackError",
    "new_secret_key",
    "prepare_stack",
    "start_stack",
    "unswitchable_changes",
]


class Stack(StackObservers):
    """The running parts, how to reach them, observe them and change them. Stop it with
    :meth:`stop` (or ``with``)."""

    # -- starting and stopping ---------------------------------------------------------
    def start(self) -> Stack:
        """Start the configured parts; on any failure (or interrupt) stop what started,
        then raise."""
        try:
            wiring.start_parts(self)
        except BaseException:
            self.stop()
            raise
        return self

    def start_part(self, part: str) -> None:
        """Start a part that is not among ``config.parts`` (or was stopped), on the port
        the stack reserved for it: the workers already know the ERP's URL, the org's
        outbound message reaches a gateway started now."""
        self._check_running_stack(f"start {part}")
        running = {
            REDIS: self.redis is not None and self.redis.child is not None,
            ERP: self.erp is not None,
            GATEWAY: self.gateway is not None,
            SALESFORCE: self.salesforce is not None,
            WORKERS: self.workers is not None,
        }
        if part not in running:
            raise ValueError(f"unknown part {part!r}")
        if not running[part]:
            wiring.start_part(self, part)

    def stop(self) -> None:
        """Stop every part, newest first (workers before the services they call).

        A second call does nothing: signalling a process group that is long gone could
        reach an unrelated group that got the same id since.
        """
        if self._stopped:
            return
        self._stopped = True
        problems: list[BaseException] = []
        # The workers first (they call the others), Redis last; the services in between
        # do not call each other and stop together (each takes ~1 s).
        services = [self._stop_salesforce, self._stop_erp, self._stop_gateways]
        for stops in ([self._stop_all_workers], services, [self._stop_redis]):
            problems += wiring.call_together(stops)
        if self.hold_proxy is not None:
            self.hold_proxy.close()
        if problems:
            raise problems[0]

    def _stop_all_workers(self) -> None:
        groups, self.extra_workers = self.extra_workers, []
        wiring.call_together([self.stop_workers, *(group.stop for group in groups)])

    def _stop_salesforce(self) -> None:
        if self.salesforce is not None:
            self.salesforce.stop()

    def _stop_gateways(self) -> None:
        gateways = [g for g in (self.gateway, *self.extra_gateways) if g is not None]
        for problem in wiring.call_together([g.stop for g in gateways]):
            raise problem

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
        changed = changed_settings(self.config, config)
        self.config = config
        if changed & OUTBOUND_SETTINGS:
            wiring.define_outbound(self)
        if "erp_faults" in changed:
            self.need(self.erp, ERP).set_faults(config.erp_faults or {})
        if changed & WORKER_SETTINGS and self.workers is not None:
            self.restart_workers()

    def define_outbound(self) -> None:
        """Define the org's outbound message as ``config`` says again (after a test
        changed the definitions)."""
        self._check_running_stack("define the outbound message")
        wiring.define_outbound(self)

    def reset_faults(self) -> None:
        """Undo the faults injected at run time: the ERP's go back to ``erp_faults``, the
        mock org's to none and its Apex classes to deployed with Apex's own row limit (so
        the next user of a shared stack starts clean)."""
        self._check_running_stack("reset faults")
        self.need(self.erp, ERP).set_faults(self.config.erp_faults or {})
        org = self.need(self.salesforce, SALESFORCE)
        org.set_faults(**DEFAULT_SALESFORCE_FAULTS)
        org.set_apex(deployed=True, dml_row_limit=DML_ROW_LIMIT)

    # -- workers -----------------------------------------------------------------------
    def start_workers(self) -> RunningWorkers:
        """Start the stack's worker group when none runs."""
        self._check_running_stack("start workers")
        if self.workers is None:
            wiring.run_together(wiring.workers_launcher(self))
        return self.need(self.workers, WORKERS)

    def stop_workers(self) -> None:
        """Stop the workers gracefully (in-flight messages finish or go back)."""
        workers, self.workers = self.workers, None
        if workers is not None:
            workers.stop()

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

    def kill_workers(self, group: RunningWorkers | None = None) -> RunningWorkers | None:
        """SIGKILL a worker group (a crash): the stack's own, or ``group`` (an extra one).
        Its in-flight messages stay in Redis until the broker's heartbeat timeout gives
        them to other workers. Returns the killed group (its ``exit_code`` is ``-9``), or
        None when there was none."""
        if group is None or group is self.workers:
            group, self.workers = self.workers, None
        elif group in self.extra_workers:
            self.extra_workers.remove(group)
        if group is not None:
            group.kill()
            group.stop()
        return group

    def start_worker_group(
        self,
        *,
        callback_api: str | None = None,
        processes: int | None = None,
        threads: int | None = None,
        env: Mapping[str, str] | None = None,
        redis_prefix: str | None = None,
    ) -> RunningWorkers:
        """Another worker group on this stack's Redis, wired like the stack's own (same
        ERP, org and credentials) but in another callback mode, size, key prefix or with
        more variables; stopped by :meth:`stop_worker_group` or with the stack."""
        self._check_running_stack("start a worker group")
        config = wiring.variant(
            self.config,
            callback_api=callback_api,
            worker_processes=processes,
            worker_threads=threads,
        )
        workdir = wiring.next_workers_dir(self)
        group = wiring.launch_workers(
            self, workdir, config, redis_prefix=redis_prefix, overrides=dict(env or {})
        )
        self.extra_workers.append(group)
        return group

    def stop_worker_group(self, group: RunningWorkers) -> None:
        if group in self.extra_workers:
            self.extra_workers.remove(group)
        group.stop()

    # -- gateways and Redis ------------------------------------------------------------
    def start_gateway(
        self, *, app: str | None = None, env: Mapping[str, str] | None = None, workers: int = 1
    ) -> RunningGateway:
        """Another gateway on this stack's Redis, accepting the same orgs, serving the
        gunicorn app ``app`` (``module:build()``; default the product's); it stops with
        the stack. The org keeps sending to the stack's own gateway."""
        self._check_running_stack("start a gateway")
        number = len(self.extra_gateways) + 2
        gateway = wiring.launch_gateway(
            self, self.config.workdir / f"gateway-{number}", app=app, env=env, workers=workers
        )
        self.extra_gateways.append(gateway)
        return gateway

    def restart_redis(self) -> None:
        """Stop the embedded Redis and start it again on the same port and data (its
        append-only file is all that carries over). A Redis we did not start is not ours
        to restart."""
        self._check_running_stack("restart Redis")
        embedded = self._embedded_redis()
        embedded.stop()
        embedded.start(timeout=self.config.startup_timeout)

    def crash_redis(self) -> None:
        """SIGKILL the embedded Redis; it stays down until :meth:`start_redis` (only what
        reached the append-only file survives)."""
        self._check_running_stack("crash Redis")
        self._embedded_redis().kill()

    def start_redis(self) -> None:
        """Start the embedded Redis again (same port and data) when it is down."""
        self._check_running_stack("start Redis")
        if not self.redis_up:
            self._embedded_redis().start(timeout=self.config.startup_timeout)

    @property
    def redis_up(self) -> bool:
        """Whether the embedded Redis runs (a Redis we did not start counts as up)."""
        return self.redis is None or self.redis.child is not None

    def _embedded_redis(self) -> EmbeddedRedis:
        if self.redis is None:
            raise StackError(REDIS, "only an embedded Redis can be crashed or restarted", None)
        return self.redis

    # -- the product's CLI and feeding jobs ----------------------------------------------
    def sfgw(
        self,
        *args: str,
        env: Literal["cli", "worker"] = "cli",
        extra_env: Mapping[str, str] | None = None,
        answer: str | None = None,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``sfgw <args>`` against this stack and return what it did (exit code,
        stdout, stderr). ``env="cli"``: the Redis URL, prefix and secret key (``status``,
        ``dlq``); ``"worker"``: everything a worker has (``reconcile`` reads the org)."""
        variables = self.core_env() if env == "cli" else {**self.worker_env(), **self.cli_env()}
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli", *args],
            env={**os.environ, **variables, **(extra_env or {})},
            input=answer,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def enqueue_notifications(self, jobs: Sequence[NotificationJob]) -> int:
        """Enqueue notification jobs as the gateway's intake does; how many were new."""
        from devstack import feed

        env = {**os.environ, **self.worker_env(), **self.cli_env()}
        return feed.enqueue_notifications(env, jobs)

    def hand_over_callbacks(
        self,
        jobs: Sequence[CallbackJob],
        *,
        callback_api: str | None = None,
        redis_prefix: str | None = None,
    ) -> dict[str, float]:
        """Give completed orders to the callback stage as the order stage does in
        ``callback_api`` mode (default the stack's) under ``redis_prefix`` (default the
        stack's); Opportunity id -> when it was handed over (epoch s)."""
        from devstack import feed

        config = wiring.variant(self.config, callback_api=callback_api)
        env = {**os.environ, **self.worker_env(config), **self.cli_env()}
        if redis_prefix is not None:
            env["SFGW_REDIS_PREFIX"] = redis_prefix
        return feed.hand_over_callbacks(env, jobs)

    def _check_running_stack(self, what: str) -> None:
        if self._stopped:
            raise StackError("stack", f"cannot {what}: the stack was stopped", None)


def new_secret_key() -> str:
    return Fernet.generate_key().decode("ascii")


def start_stack(config: StackConfig) -> Stack:
    """Start the configured parts and wire them together; all or nothing (module doc)."""
    stack = prepare_stack(config)
    stack.start()
    return stack


def prepare_stack(config: StackConfig) -> Stack:
    """The stack object, nothing started yet (its ports chosen).

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
        erp_port=free_port(),
        salesforce_port=free_port(),
        nowhere_port=free_port(),
    )
