"""``sfgw worker``, ``sfgw dlq ...``, ``sfgw status``, ``sfgw reconcile``."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import redis

from gateway.cli_support import CommandError, Subparsers, parse_since, print_table
from gateway.redis_connection import connect
from gateway.settings import CoreSettings

if TYPE_CHECKING:
    from gateway.pipeline.status import CoalescedStatus


def register(subparsers: Subparsers) -> None:
    worker = subparsers.add_parser(
        "worker",
        help="run the order pipeline's Dramatiq workers",
        description="Runs `dramatiq gateway.pipeline.worker` with SFGW_WORKER_PROCESSES "
        "processes of SFGW_WORKER_THREADS threads (queues: orders, callbacks).",
    )
    worker.set_defaults(handler=run_worker)

    dlq = subparsers.add_parser("dlq", help="inspect, replay and purge dead letters")
    sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    listing = sub.add_parser("list", help="dead letters as a table (oldest first)")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.add_argument("--stage", choices=("orders", "callbacks"))
    listing.set_defaults(handler=dlq_list)

    show = sub.add_parser("show", help="one dead letter in full (JSON)")
    show.add_argument("id")
    show.set_defaults(handler=dlq_show)

    replay = sub.add_parser("replay", help="send dead letters back through the pipeline")
    replay.add_argument("id", nargs="?", help="the letter to replay")
    replay.add_argument("--all", action="store_true", help="every letter")
    replay.add_argument("--stage", choices=("orders", "callbacks"), help="letters of one stage")
    replay.add_argument(
        "--since", metavar="T", help="letters newer than T (ISO time, or 30m / 2h / 1d ago)"
    )
    replay.set_defaults(handler=dlq_replay)

    purge = sub.add_parser("purge", help="delete every dead letter")
    purge.add_argument("--yes", action="store_true", help="do not ask")
    purge.set_defaults(handler=dlq_purge)

    status = subparsers.add_parser(
        "status", help="queue depths, in flight, dead letters, oldest message, throughput"
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(handler=show_status)

    from gateway.pipeline import reconcile_cli, trail_cli  # the sweep, a record's trail

    reconcile_cli.register(subparsers)
    trail_cli.register(subparsers)


# -- helpers ------------------------------------------------------------------------


def _redis(core: CoreSettings) -> redis.Redis:
    settings = core.require_redis()
    client = connect(settings, timeout_s=10, connect_timeout_s=5, client_name="sfgw-cli")
    try:
        client.ping()
    except redis.RedisError as error:
        raise CommandError(
            f"cannot reach Redis at {settings.describe()} ({type(error).__name__}); is it running?"
        ) from None
    return client


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


# -- sfgw worker --------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    from gateway.broker import CALLBACKS_QUEUE, ORDERS_QUEUE
    from gateway.pipeline.settings import WorkerSettings

    # Check every setting here: a bad one is one line and exit 1, not a worker boot loop.
    worker_settings = WorkerSettings.from_env()
    worker_settings.core.require_redis()
    worker_settings.core.require_secret_key()
    settings = worker_settings.pipeline
    env = dict(os.environ)
    if settings.metrics_port:
        metrics_dir = settings.metrics_dir or Path(tempfile.gettempdir()) / (
            f"sfgw-worker-metrics-{os.getpid()}"
        )
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        env.update(
            {
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "prometheus_multiproc_dir": str(metrics_dir),
                "dramatiq_prom_db": str(metrics_dir),
                "dramatiq_prom_port": str(settings.metrics_port),
                "dramatiq_prom_host": settings.metrics_host,
            }
        )
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "gateway.pipeline.worker",
        "--processes",
        str(settings.processes),
        "--threads",
        str(settings.threads),
        "--worker-shutdown-timeout",
        "30000",
        "--queues",
        ORDERS_QUEUE,
        CALLBACKS_QUEUE,
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, argv, env)  # noqa: S606 - replaces this process with dramatiq


# -- sfgw dlq -----------------------------------------------------------------------


def dlq_list(args: argparse.Namespace) -> int:
    from gateway.pipeline.stores import DeadLetters

    core = CoreSettings.from_env()
    letters = list(DeadLetters(_redis(core), core).iter(stage=args.stage))
    if args.json:
        for letter in letters:
            print(letter.to_json())
        return 0
    if not letters:
        print("no dead letters")
        return 0
    print_table(
        ["id", "when (UTC)", "stage", "opportunity", "notification", "attempts", "reason"],
        [
            (
                letter.id,
                _when(letter.when),
                letter.stage,
                letter.opportunity_id or "-",
                letter.notification_id or "-",
                letter.attempts,
                letter.reason[:100],
            )
            for letter in letters
        ],
    )
    return 0


def dlq_show(args: argparse.Namespace) -> int:
    from gateway.pipeline.stores import DeadLetters

    core = CoreSettings.from_env()
    letter = DeadLetters(_redis(core), core).get(args.id)
    if letter is None:
        raise CommandError(f"no dead letter {args.id!r}; `sfgw dlq list` shows the ids")
    print(json.dumps(json.loads(letter.to_json()), indent=2, sort_keys=True))
    return 0


def dlq_replay(args: argparse.Namespace) -> int:
    from gateway.broker import BrokerSettings, make_broker
    from gateway.pipeline.replay import replay
    from gateway.pipeline.stores import DeadLetters
    from gateway.trail import TrailSettings, build_trail

    selectors = sum(bool(x) for x in (args.id, args.all, args.stage, args.since))
    if selectors == 0:
        raise CommandError("say which letters: ID, --all, --stage S or --since T")
    if args.id and selectors > 1:
        raise CommandError("give either an ID or --all/--stage/--since, not both")
    core = CoreSettings.from_env()
    client = _redis(core)
    dead_letters = DeadLetters(client, core, build_trail(client, core, TrailSettings.from_env()))
    if args.id:
        letter = dead_letters.get(args.id)
        if letter is None:
            raise CommandError(f"no dead letter {args.id!r}; `sfgw dlq list` shows the ids")
        letters = [letter]
    else:
        since = parse_since(args.since) if args.since else None
        letters = list(dead_letters.iter(stage=args.stage, since=since))
    broker = make_broker(core, BrokerSettings.from_env())
    try:
        count = replay(broker, dead_letters, letters)
    finally:
        broker.close()
    print(f"replayed {count} dead letter{'s' if count != 1 else ''}")
    return 0


def dlq_purge(args: argparse.Namespace) -> int:
    from gateway.pipeline.stores import DeadLetters

    core = CoreSettings.from_env()
    dead_letters = DeadLetters(_redis(core), core)
    count = dead_letters.count()
    if count == 0:
        print("no dead letters")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise CommandError(
                f"refusing to delete {count} dead letters without a terminal; add --yes"
            )
        answer = input(f"delete {count} dead letters for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    print(f"deleted {dead_letters.purge()} dead letters")
    return 0


# -- sfgw status --------------------------------------------------------------------


def _print_coalesced(coalesced: CoalescedStatus) -> None:
    """Callbacks waiting to be written back in batches (collections/soap modes)."""
    if not coalesced.orgs:
        print("coalesced callbacks: none pending, no batches claimed")
        return
    print(
        f"coalesced callbacks: {coalesced.pending} pending, "
        f"{coalesced.batches} batch{'es' if coalesced.batches != 1 else ''} claimed"
    )
    print_table(
        ["org", "pending", "due now", "oldest", "batches", "in batches", "oldest lease",
         "lease expired"],
        [
            (o.org, o.pending, o.due, _age(o.oldest_age_s), o.batches, o.batch_records,
             _age(o.oldest_lease_age_s), o.expired_leases)
            for o in coalesced.orgs
        ],
    )  # fmt: skip


def show_status(args: argparse.Namespace) -> int:
    from gateway.broker import BrokerSettings
    from gateway.pipeline.status import SALESFORCE_WINDOW_S, read_contracts, read_status
    from gateway.routes import route_overrides_from_env

    core = CoreSettings.from_env()
    status = read_status(
        _redis(core),
        core,
        window_s=SALESFORCE_WINDOW_S,
        heartbeat_timeout_ms=BrokerSettings.from_env().heartbeat_timeout_ms,
        contracts=read_contracts(core, route_overrides_from_env(os.environ)),
    )
    if args.json:
        print(json.dumps(status.to_dict(), sort_keys=True))
        return 0
    print_table(
        ["contract", "record type", "queue", "actor", "bindings"],
        [
            (c.contract, c.record_type, c.queue, c.actor, c.problem or "ok")
            for c in status.contracts
        ],
    )
    print()
    print_table(
        ["queue", "ready", "in flight", "delayed", "oldest", "done/1m", "done/15m"],
        [
            (
                q.queue,
                q.ready,
                q.in_flight,
                q.delayed,
                _age(q.oldest_age_s),
                q.done_last_minute,
                q.done_last_15_minutes,
            )
            for q in status.queues
        ],
    )
    print()
    _print_coalesced(status.coalesced)
    print()
    print(f"dead letters:   {status.dead_letters}")
    print(f"live workers:   {status.workers_alive} broker connection(s) seen recently")
    if status.oldest_age_s is None:
        print("oldest message: none waiting")
    else:
        share = status.oldest_age_s / status.window_s * 100
        warning = "  <- past Salesforce's 24 h window!" if share >= 100 else ""
        print(
            f"oldest message: {_age(status.oldest_age_s)} old "
            f"({share:.1f}% of the 24 h window){warning}"
        )
    return 0
