"""``sfgw erp serve|orders``."""

from __future__ import annotations

from gateway.cli_support import Subparsers, not_implemented


def register(subparsers: Subparsers) -> None:
    erp = subparsers.add_parser("erp", help="the mock ERP order service")
    sub = erp.add_subparsers(dest="erp_command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the mock ERP under gunicorn")
    serve.add_argument("--bind", default="127.0.0.1:8300", metavar="HOST:PORT")
    serve.add_argument("--db", default="erp.sqlite3", metavar="PATH")
    serve.set_defaults(handler=not_implemented("sfgw erp serve"))
    orders = sub.add_parser("orders", help="the orders in the mock ERP's store")
    orders.add_argument("--db", default="erp.sqlite3", metavar="PATH")
    orders.add_argument("--json", action="store_true")
    orders.set_defaults(handler=not_implemented("sfgw erp orders"))
