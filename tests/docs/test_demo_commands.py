"""The demo's documented options, through ``sfgw demo`` and ``scripts/demo``.

tests/system/test_demo.py runs the default demo (``--opportunities``, ``--timeout``,
``--workdir``, signals, a part dying under ``--keep-running``); this module covers the
options it does not: the collections and SOAP callbacks, the id-only contract, the legacy
SessionId mode, and ``--keep-running`` ended the way the docs say, with Ctrl-C. Two small
runs (5 Opportunities) with the options combined, side by side: each is mostly start-up,
so together they take little more wall-clock time than one.

``scripts/demo`` uses the checkout's ``.venv`` (``scripts/test`` makes it; without one it
would create it first, which takes a minute).
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from mock_salesforce.store import OrgStore
from tests.docs.runner import Docs, clean_env, executes
from tests.system.demo_watch import DemoRun, watch_demo

pytestmark = pytest.mark.slow

N = 5
COLLECTIONS = [
    "sfgw demo --callback-api collections",
    "sfgw demo --contract opportunity_id_only",
    "sfgw demo --timeout 300",
    "sfgw demo --workdir /tmp/my-demo",
]
LEGACY = "sfgw demo --session-ids --callback-api soap"
KEEP_RUNNING = "sfgw demo --keep-running"
OK = f"OK: all {N} Opportunities carry their own order number"


def _options(docs: Docs, key: str, subs: dict[str, str] | None = None) -> str:
    return docs.command(key, subs).removeprefix("sfgw demo ")


def _finish(run: DemoRun, timeout: float = 400) -> int:
    try:
        return run.wait(timeout=timeout)
    finally:
        survivors = run.survivors()
        listening = run.still_listening()
        run.kill_survivors()
        assert not survivors and not listening, (survivors, listening, run.output)


@executes(*COLLECTIONS, LEGACY, KEEP_RUNNING, "scripts/demo")
def test_demo_options_collections_id_only_legacy_soap_and_keep_running(
    docs: Docs, tmp_path: Path
) -> None:
    workdir = tmp_path / "my-demo"
    combined = " ".join(
        _options(docs, key, {"/tmp/my-demo": str(workdir)} if "/tmp/my-demo" in key else None)
        for key in COLLECTIONS
    )
    collections = watch_demo(
        ["bash", "-c", f"sfgw demo {combined} --opportunities {N}"], clean_env()
    )
    # scripts/demo: the README's entry point (bootstraps .venv, then `sfgw demo "$@"`).
    legacy_line = (
        f"{docs.command('scripts/demo')} {_options(docs, LEGACY)} "
        f"{_options(docs, KEEP_RUNNING)} --opportunities {N}"
    )
    legacy = watch_demo(["bash", "-c", legacy_line], clean_env())
    try:
        assert legacy.wait_for_line("The stack keeps running", timeout=300), legacy.output
        assert legacy.wait_for_line("sfgw dlq list", timeout=10), legacy.output
        legacy.process.send_signal(signal.SIGINT)  # Ctrl-C: how --keep-running ends
    finally:
        legacy_code = _finish(legacy)
        collections_code = _finish(collections)

    out = collections.output
    assert collections_code == 0, out
    assert OK in out and re.search(r"Salesforce API calls \(collections\)\s+[1-9]", out), out
    # --workdir: the logs and databases stay there, also after a clean run.
    assert (workdir / "erp" / "erp.sqlite3").is_file() and (workdir / "workers").is_dir()
    org = OrgStore(workdir / "salesforce" / "salesforce.sqlite3")
    assert [d.contract for d in org.definitions(active_only=True)] == ["opportunity_id_only"]

    out = legacy.output
    assert legacy_code == 0, out  # Ctrl-C after a verified run is the normal end
    assert OK in out and "SIGINT received, stopping every process" in out, out
    # SessionIds from the messages: the workers never asked for an OAuth token.
    assert re.search(r"Salesforce API calls \(soap\)\s+[1-9].*, token requests 0$", out, re.M), out
    logs = re.search(r"\(logs in (\S+)\)", out)
    assert logs is not None, out
    assert not Path(logs.group(1)).exists()  # a temporary workdir goes after a clean run
