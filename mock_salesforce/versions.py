"""The API versions the mock org serves, named as Salesforce names them (pure).

Salesforce lists its versions at ``GET /services/data/`` (no authentication): one
``{"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}`` per version,
oldest first. Version 20.0 was Winter '11 and each release since added one version, three
releases a year (Spring, Summer, Winter), which gives every label from the number alone.
Versions 7.0 to 30.0 are retired (since Summer '25): a request for one is answered
410 GONE (REST) or ``UNSUPPORTED_API_VERSION`` (SOAP), per Salesforce's API end-of-life
page; a version the org does not have yet, or a malformed one, is 404 ``NOT_FOUND``.
"""

from __future__ import annotations

import re

OLDEST = 31
#: The newest version the mock knows (Summer '25); a newer SFGW_MOCKSF_API_VERSION raises it.
NEWEST = 64
_REST = re.compile(r"^v(\d{2,3})\.0$")
_SOAP = re.compile(r"^(\d{2,3})\.0$")


def label(major: int) -> str:
    """``62`` -> ``Winter '25`` (20.0 was Winter '11)."""
    index = major - 20
    season = ("Winter", "Spring", "Summer")[index % 3]
    return f"{season} '{11 + index // 3:02d}"


def supported(newest: int = NEWEST) -> list[dict[str, str]]:
    """The body of ``GET /services/data/``."""
    return [
        {"label": label(major), "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        for major in range(OLDEST, newest + 1)
    ]


def newest_for(configured: str) -> int:
    """The newest version served: ours, or the org's configured one if that is newer."""
    try:
        return max(NEWEST, int(float(configured)))
    except ValueError:
        return NEWEST


def check(version: str, newest: int = NEWEST, *, soap: bool = False) -> str | None:
    """None for a version served; ``retired`` (7.0-30.0) or ``unknown`` otherwise.
    REST paths write ``v62.0``, SOAP paths ``62.0``."""
    match = (_SOAP if soap else _REST).match(version)
    if match is None:
        return "unknown"
    major = int(match.group(1))
    if major < OLDEST:
        return "retired" if major >= 7 else "unknown"
    return None if major <= newest else "unknown"
