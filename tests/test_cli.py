from __future__ import annotations

import subprocess
import sys

import pytest

from gateway.cli import main


def run_sfgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["worker"],
        ["erp"],
        ["erp", "serve"],
        ["salesforce"],
        ["demo"],
        ["bindings"],
        ["bindings", "diff"],
        ["bindings", "check"],
        ["org"],
        ["org", "bundle"],
        ["dlq"],
        ["dlq", "list"],
        ["status"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: sfgw" in capsys.readouterr().out


def test_usage_error_exits_2() -> None:
    result = run_sfgw("no-such-command")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_config_error_is_one_line_naming_the_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "bindings", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"SFGW_CONTRACTS_DIR": "/nonexistent/contracts", "PATH": ""},
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SFGW_CONTRACTS_DIR" in lines[0]
