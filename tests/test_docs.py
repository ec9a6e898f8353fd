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
SHELL_FENCES = {"", "sh", "bash", "console", "shell"}


def shell_lines(text: str) -> list[str]:
    """The lines of the shell code blocks in ``text`` (backslash continuations joined).

    Fences are followed line by line: a regular expression over the whole file pairs the
    closing fence of one block with the opening fence of the next and reads the prose in
    between as code (and then misses the real blocks).
    """
    lines: list[str] = []
    fence: str | None = None
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            fence = stripped[3:].strip() if fence is None else None
            pending = ""
            continue
        if fence is None or fence not in SHELL_FENCES:
            continue
        line = pending + raw.split(" #", 1)[0].strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        lines.append(line)
    return lines


_ENV_ASSIGNMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")


def documented_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for raw in shell_lines(doc.read_text()):
            line = raw.split("#", 1)[0].strip().removeprefix("$ ").strip()
            line = _ENV_ASSIGNMENT.sub("", line)  # SFGW_REDIS_URL=... sfgw status
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
