"""``sfgw bindings generate|check|diff`` (``test`` is :mod:`gateway.contracttest.cli`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from gateway.bindings.generate import GenerationError, check_bindings, generate_bindings
from gateway.cli_support import CommandError, Subparsers
from gateway.settings import CoreSettings

if TYPE_CHECKING:
    from gateway.org.drift import BundleLocation


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
    from gateway.org.drift import bundle_location, check_location

    settings = CoreSettings.from_env()
    location = bundle_location(settings.contracts_dir, args.bundle, os.environ)
    check_location(location)  # a bundle named but missing fails before the slow part
    try:
        drift = check_bindings(settings.contracts_dir, settings.generated_dir, _progress)
    except GenerationError as error:
        raise CommandError(str(error)) from None
    if drift.clean:
        print(f"generated/ matches contracts/ ({settings.contracts_dir})")
    else:
        print("generated/ differs from a fresh generation of contracts/:")
        for path in drift.changed:
            print(f"  changed     generated/{path}")
        for path in drift.missing:
            print(f"  missing     generated/{path}")
        for path in drift.unexpected:
            print(f"  unexpected  generated/{path}")
        print("fix: edit the contract, never generated/; then run `sfgw bindings generate`")
    org_clean = _check_org(location, settings)
    return 0 if drift.clean and org_clean else 1


def _check_org(location: BundleLocation, settings: CoreSettings) -> bool:
    """The org bundle against the contracts (:mod:`gateway.org.drift`); True when clean."""
    from gateway.org.drift import check_org

    result = check_org(location, settings.contracts_dir, os.environ)
    if not result.found:
        print(
            f"no org bundle at {location.path}: org not checked "
            "(set SFGW_ORG_BUNDLE or --bundle to check yours)"
        )
    elif result.load_error is not None:
        print(f"org bundle ({location.path}) does not load, so it was not compared:")
        print(f"  {result.load_error}")
    elif result.clean:
        print(f"org bundle matches contracts/ ({location.path})")
    else:
        print(f"org bundle ({location.path}) differs from contracts/:")
        for line in result.differences:
            print(f"  {line}")
    return result.clean


def cmd_diff(args: argparse.Namespace) -> int:
    from gateway.bindings.diff import main as diff_main

    return diff_main(args)


def register(subparsers: Subparsers) -> Subparsers:
    """Add ``sfgw bindings ...``; returns its sub-parsers (``bindings test`` joins them)."""
    bindings = subparsers.add_parser(
        "bindings",
        help="generate, check and diff the xsdata bindings of contracts/",
        description="Contract-first bindings: contracts/*.wsdl, *.xsd -> generated/ (xsdata).",
    )
    sub = bindings.add_subparsers(dest="bindings_command", required=True, metavar="COMMAND")
    generate = sub.add_parser(
        "generate", help="regenerate generated/ from every WSDL and XSD under contracts/"
    )
    generate.set_defaults(handler=cmd_generate)
    check = sub.add_parser(
        "check",
        help="exit 1 when generated/ is stale or the org bundle differs from contracts/",
        description=(
            "Exit 1 when generated/ differs from a fresh generation of contracts/, or when "
            "the org bundle (salesforce/ beside contracts/, SFGW_ORG_BUNDLE, or --bundle) "
            "disagrees with the contracts: an outbound message's fields, a contract without "
            "an outbound message, callback fields the bundle lacks."
        ),
    )
    check.add_argument(
        "--bundle",
        metavar="DIR",
        help="the SFDX project to compare with contracts/ (default: $SFGW_ORG_BUNDLE, "
        "else salesforce/ beside the contracts directory)",
    )
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
    return sub
