"""``sfgw reconcile [--since T]``: one sweep now, with a table of what it found."""

from __future__ import annotations

import argparse
import json
import time

from gateway.cli_support import CommandError, Subparsers, print_table
from gateway.settings import CoreSettings


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
    from gateway.pipeline.reconcile import ReconcileSettings, build_reconciler, parse_window
    from gateway.pipeline.settings import PipelineSettings
    from gateway.salesforce.errors import SalesforceError

    core = CoreSettings.from_env()
    settings = PipelineSettings.from_env()
    reconcile = ReconcileSettings.from_env()
    now = time.time()
    try:
        since = parse_window(args.since, now, reconcile.window_s)
    except ValueError as error:
        raise CommandError(str(error)) from None
    reconciler = build_reconciler(settings, reconcile, core)
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
