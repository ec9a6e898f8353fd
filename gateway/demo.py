"""``sfgw demo``: the whole flow on one machine (not implemented yet)."""

from __future__ import annotations

from gateway.cli_support import Subparsers, not_implemented


def register(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser("demo", help="run the whole flow locally and report")
    demo.add_argument("--opportunities", type=int, default=200, metavar="N")
    demo.add_argument("--keep-running", action="store_true")
    demo.set_defaults(handler=not_implemented("sfgw demo"))
