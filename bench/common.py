"""What several benchmarks share: percentiles, the mocks' timestamps, host facts, results.

Kept here so that two benchmarks reporting "p99" or "load average" mean the same thing.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (``q`` in 0..1): the smallest value with at least ``q`` of
    the values at or below it. NaN for no values. No interpolation: every number
    reported is one that was measured."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile q must be within 0..1, not {q}")
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def salesforce_time(value: str) -> float:
    """Epoch seconds of a Salesforce REST datetime (``2026-03-02T09:14:27.123+0000``)."""
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def host_facts() -> dict[str, Any]:
    """CPUs, Python and the 1/5/15-minute load average: benchmarks on a shared host mean
    little without the load they ran under."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def write_results(
    name: str, when: str, document: Mapping[str, Any], directory: Path = RESULTS
) -> Path:
    """``bench/results/<name>-<when>.json`` (the folder is ignored by git)."""
    directory.mkdir(parents=True, exist_ok=True)
    out = directory / f"{name}-{when}.json"
    out.write_text(json.dumps(finite(document), indent=2, allow_nan=False) + "\n")
    return out


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    cwd = Path.cwd()
    return str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)
