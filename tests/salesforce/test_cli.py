"""``sfgw salesforce close-won|opportunities|deliveries`` on a database, no server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mock_salesforce.store import OrgStore


def sfgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", "salesforce", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_close_won_then_list(tmp_path: Path) -> None:
    db = tmp_path / "org.sqlite3"
    OrgStore(db).set_definitions(
        [{"name": "om", "contract": "opportunity_id_only", "endpoint_url": "http://127.0.0.1:9/x"}]
    )
    done = sfgw("close-won", "--count", "3", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    ids = json.loads(done.stdout)["ids"]
    listed = sfgw("opportunities", "--db", str(db), "--json")
    rows = json.loads(listed.stdout)
    assert [r["Id"] for r in rows] == ids
    assert all(r["StageName"] == "Closed Won" and r["IsWon"] for r in rows)
    table = sfgw("opportunities", "--db", str(db))
    assert "ORDER NUMBER" in table.stdout and ids[0] in table.stdout
    empty = sfgw("deliveries", "--db", str(db))
    assert empty.returncode == 0 and "MESSAGE" in empty.stdout


def test_missing_database_is_one_line(tmp_path: Path) -> None:
    result = sfgw("deliveries", "--db", str(tmp_path / "nope.sqlite3"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--db" in result.stderr
    bad = sfgw("close-won", "--count", "0", "--db", str(tmp_path / "x.sqlite3"))
    assert bad.returncode == 1 and "--count" in bad.stderr
