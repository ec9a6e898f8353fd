"""``sfgw erp serve|orders``."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from gateway.cli_support import CommandError, Subparsers, print_table
from mock_erp.faults import FaultConfig, FaultConfigError, loads_faults

FAULTS_ENV = "SFGW_ERP_FAULTS"


def register(subparsers: Subparsers) -> None:
    erp = subparsers.add_parser("erp", help="the mock ERP order service")
    sub = erp.add_subparsers(dest="erp_command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve the mock ERP under gunicorn",
        description=(
            "Serve contracts/erp/erp_orders.wsdl at http://HOST:PORT/erp/orders (?wsdl for the "
            "contract) with fault injection at /__admin/faults (loopback only). Start-up faults "
            f"come from --faults or ${FAULTS_ENV} (JSON, see docs/mock-erp.md)."
        ),
    )
    serve.add_argument("--bind", default="127.0.0.1:8300", metavar="HOST:PORT")
    serve.add_argument("--db", default="erp.sqlite3", metavar="PATH")
    serve.add_argument("--workers", type=int, default=3, metavar="N")
    serve.add_argument(
        "--faults",
        default=None,
        metavar="JSON|@FILE",
        help=f'fault document, e.g. \'{{"error": {{"rate": 0.1}}}}\' (overrides ${FAULTS_ENV})',
    )
    serve.set_defaults(handler=run_serve)
    orders = sub.add_parser("orders", help="the orders in the mock ERP's store")
    orders.add_argument("--db", default="erp.sqlite3", metavar="PATH")
    orders.add_argument("--json", action="store_true")
    orders.set_defaults(handler=run_orders)


def startup_faults(option: str | None, env: dict[str, str] | None = None) -> FaultConfig:
    env = dict(os.environ) if env is None else env
    source, text = "--faults", option
    if text is None:
        source, text = FAULTS_ENV, env.get(FAULTS_ENV)
    if not text or not text.strip():
        return FaultConfig()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as error:
            raise CommandError(f"{source}: cannot read {text[1:]}: {error.strerror}") from None
    try:
        return loads_faults(text, now=time.time())
    except FaultConfigError as error:
        raise CommandError(f"{source}: {error}") from None


def _parse_bind(bind: str) -> None:
    host, sep, port = bind.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--bind {bind!r} must be HOST:PORT, e.g. 127.0.0.1:8300")


def run_serve(args: argparse.Namespace) -> int:
    from mock_erp.supervisor import ServeOptions, Supervisor

    _parse_bind(args.bind)
    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    faults = startup_faults(args.faults)
    db = Path(args.db)
    if db.exists() and db.is_dir():
        raise CommandError(f"--db {db} is a directory; give a file path such as erp.sqlite3")
    options = ServeOptions(bind=args.bind, db_path=db, workers=args.workers, faults=faults)
    return Supervisor(options).run()


def run_orders(args: argparse.Namespace) -> int:
    from mock_erp.store import OrderStore

    db = Path(args.db)
    if not db.is_file():
        raise CommandError(f"no mock ERP store at {db}; start `sfgw erp serve --db {db}` first")
    orders = OrderStore(db).all_orders()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "order_number": o.order_number,
                        "external_reference": o.external_reference,
                        "status": o.status,
                        "amount": None if o.amount is None else str(o.amount),
                        "currency_code": o.currency_code,
                        "title": o.title,
                        "customer_reference": o.customer_reference,
                        "close_date": None if o.close_date is None else o.close_date.isoformat(),
                        "created_at": o.created_at.isoformat(),
                    }
                    for o in orders
                ],
                indent=2,
            )
        )
        return 0
    print_table(
        ["ORDER", "EXTERNAL REFERENCE", "STATUS", "AMOUNT", "CREATED AT"],
        [
            (
                o.order_number,
                o.external_reference,
                o.status,
                "" if o.amount is None else f"{o.amount} {o.currency_code or ''}".strip(),
                o.created_at.isoformat(timespec="seconds"),
            )
            for o in orders
        ],
    )
    return 0
