"""Fixtures for replication tests: real Redis masters, replicas and Sentinels on loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import falcon.testing
import pytest

from devstack.sentinel import ReplicatedRedis
from gateway.intake.app import create_app
from gateway.intake.settings import IntakeSettings
from tests.intake.messages import ORG

CONTRACT = "opportunity_with_fields"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[ReplicatedRedis]:
    """A master and one replica, no Sentinel (nothing fails over behind the test's back)."""
    group = ReplicatedRedis(tmp_path / "redis", replicas=1, sentinel_count=0).start()
    try:
        yield group
    finally:
        group.stop()


@pytest.fixture
def prefix() -> str:
    return f"sfgwtest-{uuid.uuid4().hex[:10]}"


def intake(env: dict[str, str]) -> falcon.testing.TestClient:
    """The intake application in this process, with its own Redis connections (one
    gateway)."""
    settings = IntakeSettings.from_env({"SFGW_ALLOWED_ORGS": ORG, **env})
    return falcon.testing.TestClient(create_app(settings))


@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The process is frozen (SIGSTOP) inside the block: connected, but silent."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
