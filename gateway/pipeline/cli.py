"""``sfgw worker``, ``sfgw dlq ...``, ``sfgw status``, ``sfgw reconcile``."""

from __future__ import annotations

from gateway.cli_support import Subparsers, not_implemented


def register(subparsers: Subparsers) -> None:
    worker = subparsers.add_parser("worker", help="run the order pipeline's Dramatiq workers")
    worker.set_defaults(handler=not_implemented("sfgw worker"))

    dlq = subparsers.add_parser("dlq", help="inspect, replay and purge dead letters")
    sub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="dead letters as a table").set_defaults(
        handler=not_implemented("sfgw dlq list")
    )
    show = sub.add_parser("show", help="one dead letter in full")
    show.add_argument("id")
    show.set_defaults(handler=not_implemented("sfgw dlq show"))
    sub.add_parser("replay", help="send dead letters back through the pipeline").set_defaults(
        handler=not_implemented("sfgw dlq replay")
    )
    sub.add_parser("purge", help="delete dead letters").set_defaults(
        handler=not_implemented("sfgw dlq purge")
    )

    subparsers.add_parser("status", help="queue depths, dead letters, oldest message").set_defaults(
        handler=not_implemented("sfgw status")
    )
    subparsers.add_parser(
        "reconcile", help="find won Opportunities without an order and enqueue them"
    ).set_defaults(handler=not_implemented("sfgw reconcile"))
