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
    sub.add_parser("e2e", help="end-to-end orders (not implemented yet)")
    sub.add_parser("soak", help="long-running soak (not implemented yet)")
    args = parser.parse_args(argv)
    if args.bench == "intake":
        from bench.intake import run

        return run(duration=args.duration, workers=args.workers)
    print(f"bench {args.bench}: not implemented yet", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
