"""``scripts/bench soak``: the stateful model of ``tests/system`` run much longer.

The same :class:`~tests.system.invariant_machine.InvariantMachine` and the same real
process set (embedded Redis with append-only persistence, gateway, workers, mock ERP,
mock Salesforce) as the CI test, with many more examples and steps per example (CI runs
6 x 12). Prints what ran -- steps per rule, notifications acked, orders completed, dead
letters, drain times -- and the verdict, and writes the same as JSON under
``bench/results/``. Exit code 0 only when every example kept every invariant.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from gateway.cli_support import print_table

RESULTS = Path(__file__).resolve().parent / "results"


def run(examples: int = 40, steps: int = 30, shrink: bool = False) -> int:
    from devstack.stack import start_stack
    from tests.system.invariant_machine import (
        CONTRACT,
        RunStats,
        model_config,
        model_settings,
        run_model,
    )

    stats = RunStats()
    began = time.monotonic()
    failure: str | None = None
    workdir = Path(tempfile.mkdtemp(prefix="sfgw-soak-"))
    with start_stack(model_config(workdir)) as stack:
        started = time.monotonic()
        print(
            f"sfgw soak: {examples} examples x up to {steps} steps against real "
            f"processes (started in {started - began:.1f}s) ...",
            flush=True,
        )
        config = model_settings(
            max_examples=examples, steps=steps, shrink=shrink, seed_derandomize=False
        )
        try:
            gateway = stack.need(stack.gateway, "gateway")
            run_model(stack, gateway.outbound_url(CONTRACT), config, stats)
        except Exception as error:  # the verdict: print it, keep the numbers
            failure = "".join(traceback.format_exception(error))
    elapsed = time.monotonic() - began
    if failure is None:
        shutil.rmtree(workdir, ignore_errors=True)
    rows: list[tuple[object, ...]] = [
        (f"rule: {name}", count) for name, count in sorted(stats.steps.items())
    ]
    drains = stats.drain_s or [0.0]
    rows += [
        ("examples run", stats.examples),
        ("steps run", sum(stats.steps.values())),
        ("Opportunities closed", stats.opportunities),
        ("notifications acked (our POSTs)", stats.acked_direct),
        ("notifications acked (mock Salesforce)", stats.acked_by_salesforce),
        ("deliveries answered with a fault", stats.faulted),
        *((f"fault proven: {name}", n) for name, n in sorted(stats.fired.items())),
        ("second-org notifications acked", stats.other_org_acked),
        ("Opportunities ordered + updated", stats.ordered_and_updated),
        ("dead letters", stats.dead_letters),
        ("drain after healing p50 / max (s)", f"{statistics.median(drains)} / {max(drains)}"),
        ("elapsed (s)", f"{elapsed:.1f}"),
        ("verdict", "every invariant held" if failure is None else "INVARIANT BROKEN"),
    ]
    print_table(["what", "value"], rows)
    if failure is not None:
        print(failure if len(failure) < 9000 else f"{failure[:6000]}\n...\n{failure[-3000:]}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"soak-{stamp}.json"
    out.write_text(
        json.dumps(
            {
                "benchmark": "soak",
                "when": stamp,
                "host": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load": os.getloadavg(),
                },
                "max_examples": examples,
                "max_steps": steps,
                "seconds_total": round(elapsed, 1),
                "stats": {
                    k: sorted(v) if isinstance(v, set) else v
                    for k, v in asdict(stats).items()
                    if k not in ("direct_ids", "two_org_ids")
                },
                "passed": failure is None,
                "failure": failure,
            },
            indent=2,
        )
    )
    print(f"results: {out}")
    if failure is not None:
        print(f"process logs and data kept in {workdir}")
    return 0 if failure is None else 1
