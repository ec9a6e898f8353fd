"""The ``sfgw`` command.

argparse rather than click: it is in the standard library, gives exit code 2 on usage
errors by itself, and nested sub-parsers map one-to-one onto the command tree. Each part
of the product registers its own subcommands (``register`` functions), so this module
only assembles them and turns failures into one line.

Commands that are not the product's -- ``sfgw demo`` (the dev stack) and the mocks'
``sfgw erp ...`` and ``sfgw salesforce ...`` -- come in through the ``sfgw.commands``
entry point group: each entry names a ``register(subparsers)`` function. The product
imports none of them; an installation without the dev stack simply lacks those commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points

from gateway import __version__
from gateway.bindings import cli as bindings_cli
from gateway.cli_support import CommandError
from gateway.config import ConfigError
from gateway.console import cli as console_cli
from gateway.contracts import ContractError
from gateway.contracttest import cli as contract_test_cli
from gateway.intake import cli as intake_cli
from gateway.org import cli as org_cli
from gateway.pipeline import cli as pipeline_cli

#: Entry point group of commands registered by other packages (dev stack, mocks).
COMMAND_PLUGINS = "sfgw.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfgw",
        description=(
            "Salesforce outbound-message gateway: durable intake, one ERP order per "
            "Opportunity, callbacks to Salesforce. Configuration comes from SFGW_* "
            "environment variables (see README)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sfgw {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    intake_cli.register(subparsers)
    pipeline_cli.register(subparsers)
    contract_test_cli.register(bindings_cli.register(subparsers))
    org_cli.register(subparsers)
    console_cli.register(subparsers)
    for plugin in sorted(entry_points(group=COMMAND_PLUGINS), key=lambda ep: ep.name):
        plugin.load()(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except (CommandError, ConfigError, ContractError) as error:
        print(f"sfgw: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sfgw: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
