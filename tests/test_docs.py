"""Every ``sfgw`` command shown in README.md and docs/ is a valid command line.

The commands themselves are run by the tests of each area and by the demo; this test makes
sure the documentation cannot drift from the CLI: a renamed flag or subcommand fails here.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gateway.cli import build_parser

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_FENCE = re.compile(r"```(?:sh|bash|console|shell)?\n(.*?)```", re.S)


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in _FENCE.findall(doc.read_text()):
            for raw in block.splitlines():
                line = raw.split("#", 1)[0].strip().removeprefix("$ ").strip()
                if line.startswith("sfgw "):
                    found.append((doc.name, line))
    return found


COMMANDS = documented_commands()


def test_the_docs_show_commands() -> None:
    assert len(COMMANDS) >= 5


@pytest.mark.parametrize(("doc", "line"), COMMANDS, ids=[f"{d}:{c}" for d, c in COMMANDS])
def test_documented_command_parses(doc: str, line: str) -> None:
    argv = shlex.split(line)[1:]
    # Placeholders such as ID or T in docs are fine: argparse only checks the shape.
    args = build_parser().parse_args(argv)
    assert callable(args.handler), f"{doc}: {line} has no handler"
