"""Every documented command is well-formed: each ``sfgw`` line parses with the CLI's own
parser and each python snippet compiles and imports only names that exist.

Fast and first to fail when the CLI or an API is renamed; whether the commands also *work*
is tests/docs/test_*_commands.py's job (and tests/docs/test_coverage.py checks that every
command is run somewhere).
"""

from __future__ import annotations

import ast
import importlib
import re
import shlex

import pytest

from gateway.cli import build_parser
from tests.docs.extract import DocCommand, documented_commands

_ENV_ASSIGNMENT = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S*\s+)+")

SFGW = sorted(
    {
        (command.where, _ENV_ASSIGNMENT.sub("", command.key))
        for command in documented_commands()
        if command.kind == "shell" and _ENV_ASSIGNMENT.sub("", command.key).startswith("sfgw ")
    }
)
SNIPPETS = [command for command in documented_commands() if command.kind == "python"]


def test_the_docs_show_sfgw_commands() -> None:
    assert len(SFGW) >= 30


@pytest.mark.parametrize(("where", "line"), SFGW, ids=[f"{w}:{c}" for w, c in SFGW])
def test_documented_command_parses(where: str, line: str) -> None:
    argv = shlex.split(line)[1:]
    # Placeholders such as OLD.wsdl in docs are fine: argparse only checks the shape.
    args = build_parser().parse_args(argv)
    assert callable(args.handler), f"{where}: {line} has no handler"


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[s.where for s in SNIPPETS])
def test_documented_snippet_compiles_and_its_imports_exist(snippet: DocCommand) -> None:
    tree = ast.parse(snippet.text, filename=snippet.where)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
