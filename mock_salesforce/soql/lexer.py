"""SOQL text to tokens, each with its row and column (pure).

The token kinds follow the SOQL reference: quoted strings (single quotes, with the
documented escape sequences ``\\n \\r \\t \\b \\f \\" \\' \\\\`` and, for LIKE, ``\\_ \\%``),
numbers, date (``YYYY-MM-DD``) and dateTime (``YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|-hh:mm)``)
literals -- never quoted --, identifiers (keywords, field and object names, date literals
such as ``LAST_N_DAYS``), operators and punctuation. A quote inside a string never ends
the word it sits in, so ``Name = 'Fish AND Chips'`` is one comparison.

Errors carry the position, and :class:`SoqlError` renders them the way Salesforce does:
the line, a caret under the column, ``ERROR at Row:1:Column:33`` and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
#: Kept escaped: they mean a literal ``_``/``%`` in a LIKE pattern.
_LIKE_ESCAPES = ("_", "%")

_PATTERNS = (
    ("space", r"\s+"),
    ("datetime", r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})"),
    ("date", r"\d{4}-\d{2}-\d{2}(?![\dT:])"),
    ("number", r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?![\w.])"),
    ("op", r"!=|<>|<=|>=|=|<|>"),
    ("punct", r"[(),:.]"),
    ("ident", r"[A-Za-z_][A-Za-z0-9_]*"),
)
_TOKEN = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS))


class SoqlError(ValueError):
    """A query Salesforce would refuse: its ``errorCode`` and message."""

    def __init__(self, code: str, message: str, text: str = "", at: int | None = None) -> None:
        self.code = code
        self.reason = message
        if at is not None and text:
            message = _located(text, at, message)
        super().__init__(message)


def _located(text: str, at: int, reason: str) -> str:
    """Salesforce's way: the line, a caret, ``ERROR at Row:r:Column:c`` and the reason."""
    before = text[:at]
    row = before.count("\n") + 1
    line_start = before.rfind("\n") + 1
    line_end = text.find("\n", at)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    column = at - line_start + 1
    return f"\n{line}\n{' ' * (column - 1)}^\nERROR at Row:{row}:Column:{column}\n{reason}"


@dataclass(frozen=True)
class Token:
    kind: str  # string, datetime, date, number, op, punct, ident, eof
    text: str  # as written (strings: the value, escapes resolved except \\_ and \\%)
    at: int  # offset in the query
    quoted: bool = False

    @property
    def upper(self) -> str:
        return self.text.upper()

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.upper in words


def _string(text: str, start: int) -> tuple[str, int]:
    """The value of the quoted string starting at ``start``; and where it ends."""
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == "'":
            return "".join(out), index + 1
        if char == "\\":
            if index + 1 >= len(text):
                break
            escaped = text[index + 1]
            if escaped in _ESCAPES:
                out.append(_ESCAPES[escaped])
            elif escaped in _LIKE_ESCAPES:
                out.append("\\" + escaped)
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    f"Invalid string literal '{text[start : index + 2]}'. Illegal escape "
                    f"sequence '\\{escaped}'",
                    text,
                    index,
                )
            index += 2
            continue
        out.append(char)
        index += 1
    raise SoqlError("MALFORMED_QUERY", "unterminated string literal", text, start)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position] == "'":
            value, position_after = _string(text, position)
            tokens.append(Token("string", value, position, quoted=True))
            position = position_after
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise SoqlError(
                "MALFORMED_QUERY",
                f"line 1:{position} no viable alternative at character '{text[position]}'",
                text,
                position,
            )
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens
