"""Small pieces every ``sfgw`` subcommand uses: failing with one line, and tables.

Exit codes follow one convention: 0 success, 1 failure (with a one-line
reason on stderr), 2 usage error (argparse's own), and 3 for "breaking change found" in
``sfgw bindings diff``.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

Handler = Callable[[argparse.Namespace], int]
Subparsers = Any  # argparse's _SubParsersAction is private; this is the object add_parser lives on


class CommandError(Exception):
    """A command failed for a reason the user can act on; printed as one line, exit 1."""


def not_implemented(what: str) -> Handler:
    def handler(_: argparse.Namespace) -> int:
        raise CommandError(f"{what} is not implemented yet")

    return handler


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table with a header rule; numbers right-aligned, text left-aligned."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    numeric = [
        all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]) for i, v in enumerate(values)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), "  ".join("-" * w for w in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _is_number(value: str) -> bool:
    if value == "":
        return True
    try:
        float(value.replace(",", "").rstrip("%"))
    except ValueError:
        return False
    return True


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], stream: TextIO = sys.stdout
) -> None:
    print(render_table(headers, rows), file=stream)


_RELATIVE = re.compile(r"(\d+)\s*([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str, now: float | None = None) -> float:
    """``--since``: ``90s``, ``30m``, ``2h``, ``1d`` ago, or an ISO 8601 time (UTC when it
    names no zone; ``Z`` and offsets are understood). One parser for every command."""
    now = time.time() if now is None else now
    match = _RELATIVE.fullmatch(value.strip())
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CommandError(
            f"--since {value!r}: use an ISO time like 2026-11-27T18:00Z or 30m, 2h, 1d"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
