"""``sfgw bindings diff`` (not implemented yet)."""

from __future__ import annotations

import argparse

from gateway.cli_support import CommandError


def main(args: argparse.Namespace) -> int:
    raise CommandError("sfgw bindings diff is not implemented yet")
