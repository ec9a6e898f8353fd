"""``sfgw serve``."""

from __future__ import annotations

from gateway.cli_support import Subparsers, not_implemented


def register(subparsers: Subparsers) -> None:
    serve = subparsers.add_parser("serve", help="run the intake gateway under gunicorn")
    serve.add_argument("--bind", default="127.0.0.1:8000", metavar="HOST:PORT")
    serve.add_argument("--workers", type=int, default=None, metavar="N")
    serve.set_defaults(handler=not_implemented("sfgw serve"))
