"""``sfgw console`` and ``sfgw trail`` as commands: the refusal to serve a non-loopback
address without a token (one line, exit 1), the console serving on loopback, and the
trail printed in the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import redis
import requests

from devstack.console import start_console
from devstack.processes import free_port
from gateway.settings import CoreSettings
from gateway.trail import OrderPlaced, Received, Trail, TrailSettings
from tests.console.conftest import ORG, opportunity


def sfgw(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SFGW_CONSOLE")}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], env={**clean, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_non_loopback_console_without_a_token_refuses_to_start_in_one_line(
    redis_url: str,
) -> None:
    result = sfgw("console", "--bind", f"0.0.0.0:{free_port()}", env={"SFGW_REDIS_URL": redis_url})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SFGW_CONSOLE_TOKEN" in lines[0] and "127.0.0.1" in lines[0]


def test_sfgw_console_serves_on_loopback_without_a_login(
    tmp_path: Path, redis_url: str, core: CoreSettings
) -> None:
    env = {"SFGW_REDIS_URL": redis_url, "SFGW_REDIS_PREFIX": core.redis_prefix,
           "SFGW_WORKER_METRICS_PORT": "0"}  # fmt: skip
    console = start_console(tmp_path, env=env)
    try:
        page = requests.get(f"{console.url}/", timeout=10)
        assert page.status_code == 200 and "Stages" in page.text
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
        overview = requests.get(f"{console.url}/api/overview", timeout=10).json()
        assert [s["stage"] for s in overview["stages"]] == ["orders", "callbacks"]
        css = requests.get(f"{console.url}/static/console.css", timeout=10)
        assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    finally:
        console.stop()


def test_sfgw_trail_prints_the_history(client: redis.Redis, core: CoreSettings) -> None:
    env = {"SFGW_REDIS_URL": core.redis_url or "", "SFGW_REDIS_PREFIX": core.redis_prefix}
    trail = Trail(client, core, TrailSettings())
    pipe = client.pipeline()
    trail.record(pipe, [
        (opportunity(1), Received(1_700_000_000_000, ORG, notification="04l000000000001AAA",
                                  queue="orders")),
        (opportunity(1), OrderPlaced(1_700_000_001_000, ORG, order_number="SO-000042")),
    ])  # fmt: skip
    pipe.execute()
    table = sfgw("trail", opportunity(1)[:15], env=env)
    assert table.returncode == 0, table.stderr
    assert "2023-11-14 22:13:20.000" in table.stdout
    assert "ERP order SO-000042 created" in table.stdout
    as_json = sfgw("trail", opportunity(1), "--json", env=env)
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["kind"] for e in events] == ["received", "order"]
    wrong = sfgw("trail", "not-an-id", env=env)
    assert wrong.returncode == 1 and "not a 15- or 18-character" in wrong.stderr
