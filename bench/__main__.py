"""``python -m bench intake|e2e|economy|soak``: run one benchmark, print a table, write JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    sub = parser.add_subparsers(dest="bench", required=True, metavar="BENCH")
    intake = sub.add_parser("intake", help="gateway ack throughput and latency (< 3 min)")
    intake.add_argument("--duration", type=float, default=8.0, help="seconds per HTTP scenario")
    intake.add_argument("--workers", type=int, default=None, help="gunicorn workers (2x CPUs)")
    intake.add_argument(
        "--only", choices=("http", "in-process"), default=None, help="run one half only"
    )
    economy = sub.add_parser(
        "economy", help="Salesforce API calls per 1,000 orders and callback latency per mode"
    )
    economy.add_argument("--records", type=int, default=1000, help="completed orders per mode")
    e2e = sub.add_parser(
        "e2e",
        help="10,000 won Opportunities through the whole stack per callback mode, "
        "with baselines (< 10 min)",
    )
    from bench.e2e import add_arguments

    add_arguments(e2e)
    soak = sub.add_parser("soak", help="the stateful invariant model, many examples")
    soak.add_argument("--examples", type=int, default=40, help="hypothesis examples")
    soak.add_argument("--steps", type=int, default=30, help="max steps per example")
    soak.add_argument("--shrink", action="store_true", help="shrink a failing example")
    args = parser.parse_args(argv)
    if args.bench == "intake":
        from bench.intake import run

        return run(duration=args.duration, workers=args.workers, only=args.only)
    if args.bench == "economy":
        from bench.economy import run as run_economy

        return run_economy(records=args.records)
    if args.bench == "soak":
        from bench.soak import run as run_soak

        return run_soak(examples=args.examples, steps=args.steps, shrink=args.shrink)
    from bench.e2e import run as run_e2e

    return run_e2e(
        opportunities=args.opportunities,
        modes=args.modes,
        baseline_sample=args.baseline_sample,
        timeout=args.timeout,
        trail=args.trail,
        repeat=args.repeat,
    )


if __name__ == "__main__":
    sys.exit(main())
