"""Every command README.md and docs/ show is run by a test.

Either a tests/docs/ test runs it (declared with ``@executes``) or tests/docs/elsewhere.py
names the test that does and why. A command added to the docs without either fails here
with what to do; so does an entry for a command the docs no longer show, or a test node
that does not exist. Fast: it reads the docs and the test files, nothing runs.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

from tests.docs.elsewhere import COVERED_ELSEWHERE
from tests.docs.extract import (
    REPO,
    command_keys,
    documented_commands,
    unknown_languages,
    unlabeled_fences,
)
from tests.docs.runner import EXECUTED

HERE = Path(__file__).resolve().parent

HOW = (
    "run it in a tests/docs/ test decorated with @executes(<the command as the docs show "
    "it>), or, when another test already runs it (or it is too long/destructive for the "
    "suite), add it to COVERED_ELSEWHERE in tests/docs/elsewhere.py with that test's node "
    "id and a one-line why"
)


def executed() -> dict[str, list[str]]:
    """Import every tests/docs/ test module so their @executes declarations register."""
    for path in sorted(HERE.glob("test_*.py")):
        importlib.import_module(f"tests.docs.{path.stem}")
    return EXECUTED


def test_every_fence_says_what_it_holds() -> None:
    unlabeled = [fence.where for fence in unlabeled_fences()]
    assert not unlabeled, (
        f"code fences without a language at {unlabeled}: write ```sh (or console) for "
        "commands, ```text for output, ```python/json/sql for code and data"
    )
    unknown = [f"{fence.where} ({fence.language})" for fence in unknown_languages()]
    assert not unknown, f"fences in a language tests/docs/extract.py does not know: {unknown}"


def test_the_docs_show_commands() -> None:
    kinds = [command.kind for command in documented_commands()]
    assert kinds.count("shell") >= 40 and kinds.count("python") >= 5


def test_every_documented_command_is_run_by_a_test() -> None:
    runs = executed()
    uncovered = [
        f"{command.where}: {command.key}"
        for command in documented_commands()
        if command.key not in runs and command.key not in COVERED_ELSEWHERE
    ]
    assert not uncovered, (
        "no test runs these documented commands:\n  "
        + "\n  ".join(dict.fromkeys(uncovered))
        + f"\nFor each: {HOW}."
    )


def test_declarations_name_only_documented_commands() -> None:
    documented = command_keys()
    stale = sorted(set(executed()) - documented)
    assert not stale, f"@executes names commands the docs no longer show: {stale}"
    gone = sorted(set(COVERED_ELSEWHERE) - documented)
    assert not gone, f"tests/docs/elsewhere.py lists commands the docs no longer show: {gone}"
    both = sorted(set(executed()) & set(COVERED_ELSEWHERE))
    assert not both, f"run in tests/docs/ and listed in elsewhere.py; drop the entry: {both}"


def test_every_mapped_test_exists_and_says_why() -> None:
    missing = []
    for key, (node, why) in COVERED_ELSEWHERE.items():
        assert len(why) > 20, f"{key!r}: say in a line why {node} covers it"
        if not _node_exists(node):
            missing.append(f"{key!r} -> {node}")
    assert not missing, "tests/docs/elsewhere.py names tests that do not exist:\n  " + (
        "\n  ".join(missing)
    )


def _node_exists(node: str) -> bool:
    """``path::function`` or ``path::Class::method`` (a ``[param]`` suffix is ignored)."""
    path, *names = node.split("[", 1)[0].split("::")
    file = REPO / path
    if not file.is_file() or not names:
        return False
    scope: list[ast.stmt] = _module(file).body
    for name in names:
        found = [
            n
            for n in scope
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and n.name == name
        ]
        if not found:
            return False
        scope = found[0].body
    return names[-1].startswith("test") or names[-1].startswith("Test")


@cache
def _module(file: Path) -> ast.Module:
    return ast.parse(file.read_text())
