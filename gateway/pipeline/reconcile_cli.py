"""``sfgw reconcile [--since T]``: one sweep now, with a table of what it found."""

from __future__ import annotations

import argparse
import json
import time

from gateway.cli_support import CommandError, Subparsers, parse_since, print_table


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="find won Opportunities without an order and enqueue them",
        description="Queries Salesforce for won Opportunities without an order number "
        "modified since T (default: the last SFGW_RECONCILE_WINDOW_S, 25 h) and older than "
        "SFGW_RECONCILE_MIN_AGE_S, and enqueues each one into the order pipeline like a "
        "notification. Safe to repeat: nothing is ordered twice.",
    )
    parser.add_argument(
        "--since", metavar="T", help="ISO time (UTC unless a zone is given) or 30m / 24h / 2d ago"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per record")
    parser.set_defaults(handler=run_reconcile)


def run_reconcile(args: argparse.Namespace) -> int:
    from gateway.pipeline.assembly import build_reconciler, redis_client, salesforce_client
    from gateway.pipeline.settings import WorkerSettings
    from gateway.salesforce.errors import SalesforceError
    from gateway.secrets import SecretBox

    settings = WorkerSettings.from_env()
    now = time.time()
    window = settings.reconcile.window_s
    since = parse_since(args.since, now) if args.since else now - window
    client = redis_client(settings.core)
    box = SecretBox(settings.core.require_secret_key())
    reconciler = build_reconciler(
        settings, client, salesforce_client(settings, client, box, pool_size=2)
    )
    try:
        report = reconciler.run(since)
    except SalesforceError as error:
        raise CommandError(f"Salesforce query failed: {error}") from None
    except OSError as error:  # Redis or network down
        raise CommandError(f"reconcile failed: {type(error).__name__}: {error}") from None
    if args.json:
        for found in report.found:
            print(json.dumps(found.__dict__, sort_keys=True))
        return 0
    if report.found:
        print_table(
            ["opportunity", "name", "last modified", "outcome"],
            [(f.opportunity_id, f.name, f.last_modified, f.outcome) for f in report.found],
        )
        print()
    outcomes = ("enqueued", "already queued", "already processed", "dead letter")
    totals = ", ".join(f"{report.count(o)} {o}" for o in outcomes)
    print(f"found {len(report.found)} won Opportunities without an order number: {totals}")
    return 0
