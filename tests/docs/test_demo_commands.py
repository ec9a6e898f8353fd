"""The demo's documented options, through ``sfgw demo`` and ``scripts/demo``.

tests/system/test_demo.py runs the default demo (``--opportunities``, ``--timeout``,
``--workdir``, ``--keep-running``, signals); this module covers the options it does not:
the collections and SOAP callbacks, the id-only contract and the legacy SessionId mode.
Two small runs (5 Opportunities) with the options combined, side by side: each is mostly
start-up, so together they take little more wall-clock time than one.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from mock_salesforce.store import OrgStore
from tests.docs.extract import REPO
from tests.docs.runner import Docs, clean_env, executes

pytestmark = pytest.mark.slow

N = 5
COLLECTIONS = [
    "sfgw demo --callback-api collections",
    "sfgw demo --contract opportunity_id_only",
    "sfgw demo --timeout 300",
    "sfgw demo --workdir /tmp/my-demo",
]
LEGACY = "sfgw demo --session-ids --callback-api soap"


def _options(docs: Docs, key: str, subs: dict[str, str] | None = None) -> str:
    return docs.command(key, subs).removeprefix("sfgw demo ")


@executes(*COLLECTIONS, LEGACY, "scripts/demo")
def test_demo_options_collections_id_only_and_legacy_soap(docs: Docs, tmp_path: Path) -> None:
    workdir = tmp_path / "my-demo"
    combined = " ".join(
        _options(docs, key, {"/tmp/my-demo": str(workdir)} if "/tmp/my-demo" in key else None)
        for key in COLLECTIONS
    )
    runs = {
        "collections": f"sfgw demo {combined} --opportunities {N}",
        # scripts/demo: the README's entry point (bootstraps .venv, then `sfgw demo "$@"`).
        "legacy": f"{docs.command('scripts/demo')} {_options(docs, LEGACY)} --opportunities {N}",
    }
    started = {
        name: subprocess.Popen(
            ["bash", "-c", line],
            env=clean_env(),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, line in runs.items()
    }
    outputs: dict[str, str] = {}
    codes: dict[str, int] = {}
    try:
        for name, process in started.items():
            outputs[name], _ = process.communicate(timeout=400)
            codes[name] = process.returncode
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.communicate()

    out = outputs["collections"]
    assert codes["collections"] == 0, f"{runs['collections']}\n{out}"
    assert f"OK: all {N} Opportunities carry their own order number" in out, out
    assert re.search(r"Salesforce API calls \(collections\)\s+[1-9]", out), out
    # --workdir: the logs and databases stay there, also after a clean run.
    assert (workdir / "erp" / "erp.sqlite3").is_file() and (workdir / "workers").is_dir()
    org = OrgStore(workdir / "salesforce" / "salesforce.sqlite3")
    assert [d.contract for d in org.definitions(active_only=True)] == ["opportunity_id_only"]

    out = outputs["legacy"]
    assert codes["legacy"] == 0, f"{runs['legacy']}\n{out}"
    assert f"OK: all {N} Opportunities carry their own order number" in out, out
    # SessionIds from the messages: the workers never asked for an OAuth token.
    assert re.search(r"Salesforce API calls \(soap\)\s+[1-9].*, token requests 0$", out, re.M), out
    logs = re.search(r"\(logs in (\S+)\)", out)
    assert logs is not None, out
    assert not Path(logs.group(1)).exists()  # a temporary workdir goes after a clean run
