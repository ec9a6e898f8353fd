"""``sfgw bindings generate|check|diff|test``."""

from __future__ import annotations

import argparse
import sys

from gateway.bindings.generate import GenerationError, check_bindings, generate_bindings
from gateway.cli_support import CommandError, Subparsers
from gateway.settings import CoreSettings


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    settings = CoreSettings.from_env()
    try:
        contracts = generate_bindings(settings.contracts_dir, settings.generated_dir, _progress)
    except GenerationError as error:
        raise CommandError(f"{error}; generated/ was left unchanged") from None
    print(f"generated {len(contracts)} packages in {settings.generated_dir}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    settings = CoreSettings.from_env()
    try:
        drift = check_bindings(settings.contracts_dir, settings.generated_dir, _progress)
    except GenerationError as error:
        raise CommandError(str(error)) from None
    if drift.clean:
        print(f"generated/ matches contracts/ ({settings.contracts_dir})")
        return 0
    print("generated/ differs from a fresh generation of contracts/:")
    for path in drift.changed:
        print(f"  changed     generated/{path}")
    for path in drift.missing:
        print(f"  missing     generated/{path}")
    for path in drift.unexpected:
        print(f"  unexpected  generated/{path}")
    print("fix: edit the contract, never generated/; then run `sfgw bindings generate`")
    return 1


def cmd_test(args: argparse.Namespace) -> int:
    from gateway.bindings.test_command import main as test_main

    return test_main(args)


def cmd_diff(args: argparse.Namespace) -> int:
    from gateway.bindings.diff import main as diff_main

    return diff_main(args)


def register(subparsers: Subparsers) -> None:
    bindings = subparsers.add_parser(
        "bindings",
        help="generate, check and diff the xsdata bindings of contracts/",
        description="Contract-first bindings: contracts/*.wsdl -> generated/ (xsdata).",
    )
    sub = bindings.add_subparsers(dest="bindings_command", required=True, metavar="COMMAND")
    generate = sub.add_parser(
        "generate", help="regenerate generated/ from every WSDL under contracts/"
    )
    generate.set_defaults(handler=cmd_generate)
    check = sub.add_parser("check", help="exit 1 when generated/ differs from a fresh generation")
    check.set_defaults(handler=cmd_check)
    diff = sub.add_parser(
        "diff",
        help="what changed between two versions of an outbound-message WSDL",
        description=(
            "Compare two versions of a Salesforce outbound-message WSDL and classify each "
            "change as compatible or breaking. Exit 0 when every change is compatible, 3 "
            "when any is breaking."
        ),
    )
    diff.add_argument("old", metavar="OLD.wsdl")
    diff.add_argument("new", metavar="NEW.wsdl")
    diff.add_argument("--json", action="store_true", help="print the changes as JSON")
    diff.set_defaults(handler=cmd_diff)
    test = sub.add_parser(
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
    test.set_defaults(handler=cmd_test)


def _positive(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return int(raw)
