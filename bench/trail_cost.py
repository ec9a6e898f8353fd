"""``scripts/bench e2e --trail both``: what the record trail costs, side by side.

The trail (:mod:`gateway.trail`) adds a few Redis commands to writes the pipeline makes
anyway; its budget is at most 5 % fewer orders per second. Measured by running each
callback mode on fresh stacks with ``SFGW_TRAIL=off`` and ``on`` alternately (``off,
on`` per ``--repeat``), so both see the same host load as far as possible, and
comparing the median orders/s of each. Pure: it only reads the rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Protocol

BUDGET = 0.05
SETTINGS = ("off", "on")


class Measured(Protocol):
    name: str
    callback_api: str

    @property
    def orders_per_s(self) -> float | None: ...


def trail_plan(trail: str, repeat: int) -> list[str | None]:
    """The SFGW_TRAIL value of each run of a mode (None: as the environment says)."""
    if trail == "both":
        return [setting for _ in range(repeat) for setting in SETTINGS]
    return [trail] * repeat if trail in SETTINGS else [None] * repeat


def row_name(mode: str, trail: str | None) -> str:
    return f"sfgw {mode}" if trail is None else f"sfgw {mode} (trail {trail})"


def trail_verdicts(rows: Sequence[Measured]) -> list[str]:
    """Per mode with runs both ways: median orders/s off and on, and the cost."""
    verdicts = []
    for mode in dict.fromkeys(r.callback_api for r in rows):
        rates: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        for row in rows:
            for setting in SETTINGS:
                rate = row.orders_per_s
                if row.callback_api == mode and row.name == row_name(mode, setting) and rate:
                    rates[setting].append(rate)
        if not rates["off"] or not rates["on"]:
            continue
        off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
        cost = 1 - on / off
        verdict = "within" if cost <= BUDGET else "OVER"
        verdicts.append(
            f"trail cost, {mode}: {off:.1f} orders/s off, {on:.1f} on (median of "
            f"{len(rates['off'])}/{len(rates['on'])}): {cost:+.1%}, {verdict} the "
            f"{BUDGET:.0%} budget"
        )
    return verdicts
