"""Where the multi-host suite cannot run, it says why in one line (scripts/test prints it,
and the suite's tests are skipped with it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.hosts import netns


def test_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    assert netns.cannot_build_namespaces() == "needs root (network namespaces, veth links, tc)"


def test_no_iproute2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netns.os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.shutil, "which", lambda tool: None)
    assert netns.cannot_build_namespaces() == "no `ip` command (install iproute2)"


def test_the_check_prints_one_line_or_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.hosts.netns"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert len(done.stdout.strip().splitlines()) <= 1
    assert done.stdout.strip() == (netns.cannot_build_namespaces() or "")
