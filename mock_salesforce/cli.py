"""``sfgw salesforce serve|close-won|deliveries|opportunities``.

``serve`` runs the org; the other commands read and change its SQLite database directly
(``--db``, default ``$SFGW_MOCKSF_DB`` or ``salesforce.sqlite3``), so they work whether or
not the server runs, and the running sender picks up what ``close-won`` queued.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from gateway.cli_support import CommandError, Subparsers, print_table


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="the org's SQLite database (default: $SFGW_MOCKSF_DB or salesforce.sqlite3)",
    )


def _db_path(args: argparse.Namespace, must_exist: bool = True) -> Path:
    path = Path(args.db or os.environ.get("SFGW_MOCKSF_DB") or "salesforce.sqlite3")
    if must_exist and not path.exists():
        raise CommandError(
            f"no mock Salesforce database at {path}; start `sfgw salesforce serve` or pass --db"
        )
    return path


def register(subparsers: Subparsers) -> None:
    sf = subparsers.add_parser("salesforce", help="the mock Salesforce org")
    sub = sf.add_subparsers(dest="salesforce_command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="serve the mock org (sender and APIs)")
    serve.add_argument("--bind", default="127.0.0.1:8400", metavar="HOST:PORT")
    serve.add_argument("--workers", type=int, default=2, help="gunicorn API workers (default 2)")
    _db_arg(serve)
    serve.add_argument(
        "--gateway-url", metavar="URL", help="gateway base URL ($SFGW_MOCKSF_GATEWAY_URL)"
    )
    serve.add_argument(
        "--bundle",
        metavar="PATH",
        help="the org bundle (SFDX project) the org runs on ($SFGW_MOCKSF_BUNDLE; default: "
        "the repository's salesforce/)",
    )
    serve.add_argument(
        "--contract",
        action="append",
        metavar="NAME",
        help="send the bundle's outbound messages to this contract (repeatable; * for all; "
        "$SFGW_MOCKSF_CONTRACTS; default: opportunity_with_fields)",
    )
    serve.add_argument("--send-session-id", action="store_true", help="legacy: send SessionIds")
    serve.add_argument(
        "--time-scale",
        type=float,
        metavar="F",
        help="divide every delivery duration (backoff, 24 h, 60 s timeout) by F",
    )
    serve.add_argument("--no-sender", action="store_true", help="serve the APIs only")
    serve.set_defaults(handler=_serve)

    close = sub.add_parser("close-won", help="move Opportunities to Closed Won")
    close.add_argument("--count", type=int, default=1, metavar="N")
    _db_arg(close)
    close.add_argument("--json", action="store_true")
    close.set_defaults(handler=_close_won)

    deliveries = sub.add_parser("deliveries", help="outbound-message delivery status")
    _db_arg(deliveries)
    deliveries.add_argument("--all", action="store_true", help="include delivered messages")
    deliveries.add_argument("--json", action="store_true")
    deliveries.set_defaults(handler=_deliveries)

    opportunities = sub.add_parser("opportunities", help="Opportunities and their order fields")
    _db_arg(opportunities)
    opportunities.add_argument("--json", action="store_true")
    opportunities.set_defaults(handler=_opportunities)


def _serve(args: argparse.Namespace) -> int:
    from mock_salesforce.serve import serve

    if args.db:
        os.environ["SFGW_MOCKSF_DB"] = args.db
    if args.gateway_url:
        os.environ["SFGW_MOCKSF_GATEWAY_URL"] = args.gateway_url
    if args.contract:
        os.environ["SFGW_MOCKSF_CONTRACTS"] = ",".join(args.contract)
    if args.bundle:
        os.environ["SFGW_MOCKSF_BUNDLE"] = args.bundle
    if args.send_session_id:
        os.environ["SFGW_MOCKSF_SEND_SESSION_ID"] = "true"
    if args.time_scale is not None:
        if args.time_scale <= 0:
            raise CommandError("--time-scale must be a positive number such as 1000")
        os.environ["SFGW_MOCKSF_TIME_SCALE"] = str(args.time_scale)
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    return serve(args.bind, args.workers, run_sender=not args.no_sender)


def _close_won(args: argparse.Namespace) -> int:
    from mock_salesforce.store import OrgStore

    if args.count < 1:
        raise CommandError("--count must be at least 1")
    store = OrgStore(_db_path(args, must_exist=False))
    if not store.definitions(active_only=True):
        print("note: no active outbound-message definition; nothing will be sent")
    ids = store.close_won(args.count)
    if args.json:
        print(json.dumps({"ids": ids}))
    else:
        print(f"{len(ids)} Opportunities moved to Closed Won")
    return 0


def _deliveries(args: argparse.Namespace) -> int:
    from mock_salesforce.admin import delivery_view
    from mock_salesforce.store import OrgStore

    store = OrgStore(_db_path(args))
    now = time.time()
    rows = [
        delivery_view(m, now) for m in store.messages(None if args.all else ["pending", "dropped"])
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(
        [
            "MESSAGE",
            "DEFINITION",
            "STATUS",
            "NOTIFS",
            "ATTEMPTS",
            "LAST ERROR",
            "NEXT IN s",
            "AGE s",
        ],
        [
            [
                r["id"],
                r["definition"],
                r["status"],
                r["notifications"],
                r["attempts"],
                (r["last_error"] or "")[:60],
                r["next_attempt_in"],
                round(r["age"], 1),
            ]
            for r in rows
        ],
    )
    return 0


def _opportunities(args: argparse.Namespace) -> int:
    from mock_salesforce.admin import VIEW_COLUMNS, opportunity_view
    from mock_salesforce.store import OrgStore

    store = OrgStore(_db_path(args))
    rows = [opportunity_view(r) for r in store.opportunity_columns(VIEW_COLUMNS)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(
        ["ID", "NAME", "STAGE", "ORDER NUMBER", "ORDER STATUS", "LAST MODIFIED"],
        [
            [
                r["Id"],
                r["Name"],
                r["StageName"],
                r["Order_Number__c"],
                r["Order_Status__c"],
                r["LastModifiedDate"],
            ]
            for r in rows
        ],
    )
    return 0
