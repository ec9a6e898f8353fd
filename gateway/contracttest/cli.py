"""``sfgw bindings test``: its arguments (the command itself loads only when it runs)."""

from __future__ import annotations

import argparse

from gateway.cli_support import Subparsers


def main(args: argparse.Namespace) -> int:
    from gateway.contracttest.command import run_command

    return run_command(args)


def register(bindings: Subparsers) -> None:
    """Add ``test`` to the ``sfgw bindings`` sub-commands."""
    test = bindings.add_parser(
        "test",
        help="contract-test the outbound-message contracts against the real intake",
        description=(
            "For every outbound-message contract in SFGW_CONTRACTS_DIR (or the ones named), "
            "draw valid and mutated messages from its WSDL with hypothesis and post them to "
            "the real intake code in this process: valid ones must be acked with jobs that "
            "carry exactly the sent values, redeliveries acked without a second job, "
            "mutated ones refused with a SOAP fault and nothing stored. Uses SFGW_REDIS_URL "
            "under a throwaway key prefix, or an embedded Redis when it is unset. Exit 0 "
            "when every contract passes, 1 with the shrunk failing message otherwise."
        ),
    )
    test.add_argument(
        "--contract",
        action="append",
        metavar="NAME",
        help="test only this contract (repeatable); default: all outbound-message contracts",
    )
    test.add_argument(
        "--examples",
        type=_positive,
        default=50,
        metavar="N",
        help="valid and mutated messages drawn per contract, each (default 50)",
    )
    test.add_argument(
        "--seed", type=int, default=None, metavar="N", help="hypothesis seed (default: random)"
    )
    test.set_defaults(handler=main)


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return int(raw)
