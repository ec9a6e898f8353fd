"""``python -m bench intake|e2e|soak``: run one benchmark, print a table, write JSON."""

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
    sub.add_parser("e2e", help="end-to-end orders (not implemented yet)")
    sub.add_parser("soak", help="long-running soak (not implemented yet)")
    args = parser.parse_args(argv)
    if args.bench == "intake":
        from bench.intake import run

        return run(duration=args.duration, workers=args.workers, only=args.only)
    if args.bench == "economy":
        from bench.economy import run as run_economy

        return run_economy(records=args.records)
    print(f"bench {args.bench}: not implemented yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
