"""``sfgw trail OPPORTUNITY_ID``: what happened to one record, from its trail in Redis.

The same history the console's Opportunity page shows (:mod:`gateway.trail`), as a
table or, with ``--json``, one JSON object per event (oldest first). Read-only.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import UTC, datetime

from gateway.cli_support import CommandError, Subparsers, print_table


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "trail",
        help="the history of one Opportunity: received, ordered, called back, dead letters",
        description="Prints the trail the pipeline keeps per record in Redis (for "
        "SFGW_TRAIL_TTL_S, 7 days by default): notifications received (and duplicates), "
        "reconcile pick-ups, the ERP order, callbacks, retries, dead letters, replays.",
    )
    parser.add_argument("id", metavar="OPPORTUNITY_ID", help="15 or 18 characters")
    parser.add_argument("--org", metavar="ORG_ID", help="only this org's events")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.set_defaults(handler=show_trail)


def when(at_ms: int) -> str:
    return datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def show_trail(args: argparse.Namespace) -> int:
    from gateway import sfid
    from gateway.pipeline.cli import _redis
    from gateway.pipeline.stores import DeadLetters
    from gateway.settings import CoreSettings
    from gateway.trail import Trail, TrailSettings, describe

    try:
        record = sfid.to18(args.id)
    except sfid.InvalidSalesforceId as error:
        raise CommandError(str(error)) from None
    core = CoreSettings.from_env()
    client = _redis(core)
    settings = TrailSettings.from_env()
    events = Trail(client, core, TrailSettings(ttl_s=settings.ttl_s)).read(record, args.org)
    letters = [
        letter
        for letter in DeadLetters(client, core).iter()
        if letter.opportunity_id == record and (not args.org or letter.organization_id[:15]
                                                == args.org[:15])
    ]  # fmt: skip
    if args.json:
        for event in events:
            print(json.dumps({"kind": event.KIND, **asdict(event), "text": describe(event)},
                             sort_keys=True))  # fmt: skip
        return 0
    if not events:
        off = " (SFGW_TRAIL=off here; is it off in the gateway and workers too?)"
        print(f"no trail for {record}{off if not settings.enabled else ''}")
    else:
        print_table(
            ["when (UTC)", "org", "event", "what happened"],
            [(when(e.at), e.org, e.KIND, describe(e)) for e in events],
        )
    if letters:
        ids = ", ".join(letter.id for letter in letters)
        print(f"\nwaiting in the dead letters: {ids} (`sfgw dlq show ID`, `sfgw dlq replay ID`)")
    return 0
