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


#: The product's own processes, whose CPU the trail adds to (the mocks' is not ours).
PRODUCT = ("redis", "gateway", "workers")


class Measured(Protocol):
    name: str
    callback_api: str
    updated: int
    cpu_s: dict[str, float]

    @property
    def orders_per_s(self) -> float | None: ...


def cpu_ms_per_order(row: Measured) -> float | None:
    """CPU of Redis, the gateway and the workers per order updated: what the trail costs
    in work, which a busy shared host disturbs less than it disturbs orders/s."""
    if not row.updated or not all(kind in row.cpu_s for kind in PRODUCT):
        return None
    return sum(row.cpu_s[kind] for kind in PRODUCT) * 1000 / row.updated


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
        cpu: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
        for row in rows:
            for setting in SETTINGS:
                rate, work = row.orders_per_s, cpu_ms_per_order(row)
                if row.callback_api == mode and row.name == row_name(mode, setting) and rate:
                    rates[setting].append(rate)
                    if work is not None:
                        cpu[setting].append(work)
        if not rates["off"] or not rates["on"]:
            continue
        off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
        cost = 1 - on / off
        verdict = "within" if cost <= BUDGET else "OVER"
        line = (
            f"trail cost, {mode}: {off:.1f} orders/s off, {on:.1f} on (median of "
            f"{len(rates['off'])}/{len(rates['on'])}): {cost:+.1%} fewer orders/s, {verdict} "
            f"the {BUDGET:.0%} budget"
        )
        if cpu["off"] and cpu["on"]:
            cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
            line += (
                f"; product CPU {cpu_off:.2f} ms/order off, {cpu_on:.2f} on "
                f"({cpu_on / cpu_off - 1:+.1%})"
            )
        verdicts.append(line)
    return verdicts
