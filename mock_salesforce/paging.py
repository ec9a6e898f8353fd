"""Paging of REST query results, the way Salesforce pages them (pure).

Salesforce returns at most one *batch* of records per query call. The batch size is
2,000 by default and can be changed with the request header
``Sforce-Query-Options: batchSize=N`` (documented range 200..2,000; Salesforce does not
promise the requested size, so the mock clamps a value outside the range into it and
ignores a header it cannot read). When more records match, the reply has
``"done": false`` and ``"nextRecordsUrl": "/services/data/vXX.X/query/<locator>-<offset>"``;
``totalSize`` is always the size of the whole result, on every page. The query locator
(``01g…``) names a server-side cursor that holds the result as it was when the query ran,
for two days (Salesforce's cursor lifetime since API 56.0); an unknown, expired or
out-of-range locator is ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_BATCH_SIZE = 2000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2000
CURSOR_TTL_S = 2 * 86400
HEADER = "Sforce-Query-Options"

_BATCH_SIZE = re.compile(r"(?:^|[,;\s])batchSize\s*=\s*(\d+)\s*(?:$|[,;\s])", re.IGNORECASE)
_LOCATOR = re.compile(r"^(?P<cursor>01g[0-9A-Za-z]{12}(?:[0-9A-Za-z]{3})?)-(?P<offset>\d+)$")


def batch_size(header: str | None) -> int | None:
    """The batch size a ``Sforce-Query-Options`` header asks for, clamped; None: none."""
    match = _BATCH_SIZE.search(header or "")
    if match is None:
        return None
    return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(match.group(1))))


@dataclass(frozen=True)
class Page:
    start: int
    end: int
    next_offset: int | None  # None: this is the last page (``done``)


def page(total: int, offset: int, size: int) -> Page:
    """Records ``[start, end)`` of a result of ``total`` records, and where the next starts."""
    end = min(total, offset + size)
    return Page(offset, end, end if end < total else None)


def parse_locator(text: str) -> tuple[str, int] | None:
    """``01g5g0000000001AAA-2000`` -> (cursor id, offset); None when malformed."""
    match = _LOCATOR.match(text)
    if match is None:
        return None
    return match["cursor"], int(match["offset"])


def next_records_url(version: str, cursor: str, offset: int) -> str:
    return f"/services/data/{version}/query/{cursor}-{offset}"
