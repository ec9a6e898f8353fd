"""The commands README.md and docs/*.md show, read from their fenced code blocks.

A fence's language says what it holds: ``sh``/``bash``/``shell`` blocks are commands, one
per line; ``console`` blocks are commands after ``$ `` followed by their output; ``python``
blocks are snippets (one unit each); every other language (``text``, ``json``, ``sql``,
``yaml`` for a CI configuration) is output or data. A fence without a language is
ambiguous and reported by the coverage test, so every command in the docs is found.

A command's key is its text as a reader would paste it: ``$ `` and trailing ``# comments``
removed, backslash continuations joined. A python snippet's key is ``python: `` plus its
first statement that is not an import (``python: erp = start_mock_erp(...)``).

Fences are followed line by line: a regular expression over the whole file pairs the
closing fence of one block with the opening fence of the next and reads the prose in
between as code (and then misses the real blocks).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"sh", "bash", "shell", "console"}
DATA_LANGUAGES = {"text", "json", "sql", "yaml"}


@dataclass(frozen=True)
class Fence:
    doc: str
    #: 1-based line of the opening ```.
    line: int
    language: str
    lines: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"


@dataclass(frozen=True)
class DocCommand:
    key: str
    kind: str  # "shell" or "python"
    where: str
    #: For python: the snippet's code; for shell: the command line (== key).
    text: str


def fences(path: Path) -> list[Fence]:
    found: list[Fence] = []
    language: str | None = None
    start = 0
    body: list[str] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("```"):
            if language is None:
                language, start, body = stripped[3:].strip(), number, []
            else:
                found.append(Fence(path.name, start, language, tuple(body)))
                language = None
            continue
        if language is not None:
            body.append(raw)
    return found


def shell_commands(fence: Fence) -> list[str]:
    """The command lines of a shell fence (console: only the ``$ `` lines)."""
    commands: list[str] = []
    pending = ""
    for raw in fence.lines:
        line = raw.strip()
        if fence.language == "console":
            if not pending and not line.startswith("$ "):
                continue  # output
            line = line.removeprefix("$ ")
        line = pending + line.split(" #", 1)[0].strip()
        if line.endswith("\\"):
            pending = line[:-1].rstrip() + " "
            continue
        pending = ""
        if line and not line.startswith("#"):
            commands.append(line)
    return commands


def python_key(fence: Fence) -> str:
    for raw in fence.lines:
        line = raw.split("  #", 1)[0].strip()
        if not line or line.startswith(("#", "import ", "from ")):
            continue
        return f"python: {line}"
    raise ValueError(f"{fence.where}: a python block without a statement")


@cache
def all_fences() -> tuple[Fence, ...]:
    return tuple(fence for doc in DOCS for fence in fences(doc))


@cache
def documented_commands() -> tuple[DocCommand, ...]:
    """Every shell command line and python snippet, in document order (repeats included)."""
    found: list[DocCommand] = []
    for fence in all_fences():
        if fence.language in SHELL_LANGUAGES:
            found.extend(
                DocCommand(line, "shell", fence.where, line) for line in shell_commands(fence)
            )
        elif fence.language == "python":
            code = "\n".join(fence.lines) + "\n"
            found.append(DocCommand(python_key(fence), "python", fence.where, code))
    return tuple(found)


def command_keys() -> set[str]:
    return {command.key for command in documented_commands()}


def snippet(key: str) -> str:
    """The code of the python snippet called ``key``."""
    for command in documented_commands():
        if command.kind == "python" and command.key == key:
            return command.text
    raise KeyError(f"no python snippet {key!r} in the docs")


def unlabeled_fences() -> list[Fence]:
    return [fence for fence in all_fences() if not fence.language]


def unknown_languages() -> list[Fence]:
    known = SHELL_LANGUAGES | DATA_LANGUAGES | {"python"}
    return [fence for fence in all_fences() if fence.language and fence.language not in known]
