"""``sfgw salesforce serve|close-won|deliveries|opportunities``."""

from __future__ import annotations

from gateway.cli_support import Subparsers, not_implemented


def register(subparsers: Subparsers) -> None:
    sf = subparsers.add_parser("salesforce", help="the mock Salesforce org")
    sub = sf.add_subparsers(dest="salesforce_command", required=True, metavar="COMMAND")
    sub.add_parser("serve", help="serve the mock org (sender and APIs)").set_defaults(
        handler=not_implemented("sfgw salesforce serve")
    )
    close = sub.add_parser("close-won", help="move Opportunities to Closed Won")
    close.add_argument("--count", type=int, default=1, metavar="N")
    close.set_defaults(handler=not_implemented("sfgw salesforce close-won"))
    sub.add_parser("deliveries", help="outbound-message delivery status").set_defaults(
        handler=not_implemented("sfgw salesforce deliveries")
    )
    sub.add_parser("opportunities", help="Opportunities and their order fields").set_defaults(
        handler=not_implemented("sfgw salesforce opportunities")
    )
