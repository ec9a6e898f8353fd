"""``sfgw demo``: the whole flow on one machine, watched stage by stage, then verified.

It starts the stack (:mod:`devstack.stack`), closes N Opportunities in the mock org and
follows every notification through the four stages a reader cares about: sent by
Salesforce, acked by the gateway, order created in the ERP, Opportunity updated. It ends
with a summary and exits 0 only when the records prove the promise: exactly N orders,
one per Opportunity, and every Opportunity carries its own order's number.

The parts are separated the way the rest of the product is: pure functions decide and
report (:mod:`devstack.demo_report`, tested without sockets), :mod:`devstack.demo_flow`
follows a run on a stack, and this module is the command: its arguments and the thin
shell that starts the stack and handles signals (:mod:`devstack.signals`). ``sfgw``
imports this module for every command, so everything heavier loads only when the demo
runs.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.config import CONTRACTS
from gateway.cli_support import CommandError, Subparsers, render_table
from gateway.salesforce.settings import CALLBACK_APIS

if TYPE_CHECKING:
    from devstack.demo_report import Reporter
    from devstack.stack import Stack

DEFAULT_TIMEOUT_S = 180.0


def register(subparsers: Subparsers) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="run the whole flow locally and report",
        description=(
            "Start Redis (embedded unless SFGW_REDIS_URL is set), the gateway, the workers, "
            "the mock ERP and the mock Salesforce on free loopback ports, close N "
            "Opportunities, follow them through every stage and verify that each one "
            "carries its own ERP order number. Exit 0 only then."
        ),
    )
    demo.add_argument(
        "--opportunities", type=_positive_int, default=200, metavar="N", help="default 200"
    )
    demo.add_argument("--callback-api", choices=CALLBACK_APIS, default="collections")
    demo.add_argument("--contract", choices=CONTRACTS, default="opportunity_with_fields")
    demo.add_argument(
        "--session-ids",
        action="store_true",
        help="legacy mode: call back with the SessionId each message carries, not OAuth",
    )
    demo.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the stack up after the summary (URLs and commands shown) until Ctrl-C",
    )
    demo.add_argument(
        "--timeout",
        type=_positive_float,
        default=DEFAULT_TIMEOUT_S,
        metavar="S",
        help="give up when the flow has not finished after S seconds "
        f"(default {DEFAULT_TIMEOUT_S:.0f})",
    )
    demo.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="logs and databases go here (new or empty; default: a temporary directory, "
        "removed after a successful run)",
    )
    demo.set_defaults(handler=run_demo)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100000")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def run_demo(args: argparse.Namespace) -> int:
    from devstack.demo_flow import run_flow
    from devstack.demo_report import SUMMARY_NOTE, Reporter, Summary
    from devstack.errors import StackError
    from devstack.signals import Interrupted, signals_interrupt, stop_stack
    from devstack.stack import StackConfig, prepare_stack

    workdir, temporary = _workdir(args.workdir)
    reporter = Reporter(sys.stdout)
    config = StackConfig(
        workdir=workdir,
        contract=args.contract,
        callback_api=args.callback_api,
        session_ids=args.session_ids,
        redis_url=os.environ.get("SFGW_REDIS_URL") or None,
    )
    succeeded = False
    stack: Stack | None = None
    with signals_interrupt():
        try:
            started = time.monotonic()
            where = (
                "Redis at SFGW_REDIS_URL (own key prefix)"
                if config.redis_url
                else "embedded Redis (append-only)"
            )
            reporter.say(
                f"sfgw demo: starting {where}, gateway, workers, mock ERP and mock Salesforce "
                f"(logs in {workdir})"
            )
            stack = prepare_stack(config)
            stack.start()
            summary = Summary(opportunities=args.opportunities)
            summary.startup_s = time.monotonic() - started
            reporter.say(
                f"stack up in {summary.startup_s:.1f} s; closing {args.opportunities} Opportunities"
            )
            run_flow(stack, args.opportunities, args.timeout, summary, reporter)
            summary.total_s = time.monotonic() - started
            reporter.say("")
            reporter.say(render_table(["summary", ""], summary.rows(args.callback_api)))
            reporter.say("\n" + SUMMARY_NOTE)
            if summary.problems:
                raise CommandError("demo failed verification: " + "; ".join(summary.problems))
            reporter.say(
                f"\nOK: all {args.opportunities} Opportunities carry their own order number "
                "(exactly one ERP order each)"
            )
            succeeded = True
            if args.keep_running:
                _keep_running(stack, reporter)
            return 0
        except Interrupted as interrupt:
            reporter.say(f"\nsfgw demo: {interrupt} received, stopping every process")
            # After a verified run, Ctrl-C is how --keep-running is meant to end.
            return 0 if succeeded else 128 + interrupt.signum
        except StackError as error:
            raise CommandError(f"demo failed: {error}") from None
        finally:
            stop_stack(stack, reporter)
            if temporary and succeeded:
                shutil.rmtree(workdir, ignore_errors=True)
            elif not succeeded:
                reporter.say(f"logs and databases kept in {workdir}")


def _workdir(requested: Path | None) -> tuple[Path, bool]:
    if requested is None:
        return Path(tempfile.mkdtemp(prefix="sfgw-demo-")), True
    if requested.exists() and (not requested.is_dir() or any(requested.iterdir())):
        raise CommandError(
            f"--workdir {requested} is not an empty directory; give a new or empty one "
            "(the mocks' databases must start empty for the counts to mean anything)"
        )
    requested.mkdir(parents=True, exist_ok=True)
    return requested.resolve(), False


def _keep_running(stack: Stack, reporter: Reporter) -> None:
    from devstack.demo_report import inspect_commands

    gateway = stack.need(stack.gateway, "gateway")
    erp = stack.need(stack.erp, "mock ERP")
    salesforce = stack.need(stack.salesforce, "mock Salesforce")
    workers = stack.need(stack.workers, "workers")
    outbound = gateway.outbound_url(stack.config.contract)
    lines = [
        "",
        "The stack keeps running (Ctrl-C stops everything):",
        f"  gateway          {outbound}  (metrics {gateway.url}/metrics)",
        f"  workers metrics  {workers.metrics_url}",
        f"  mock ERP         {erp.url}  (WSDL {erp.wsdl_url})",
        f"  mock Salesforce  {salesforce.url}  (org {salesforce.org_id})",
        f"  Redis            {stack.redis_url}  (key prefix {stack.redis_prefix})",
        "",
        "Inspect it from another terminal (in this checkout, after `source .venv/bin/activate`):",
        *(f"  {line}" for line in inspect_commands(stack)),
    ]
    for line in lines:
        reporter.say(line)
    while True:
        stack.check_running()
        time.sleep(1.0)
