"""What a running stack may switch (devstack.stack), checked without starting one."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import SWITCHABLE_SETTINGS, StackConfig, unswitchable_changes


def test_switchable_settings_are_not_reported() -> None:
    old = StackConfig(workdir=Path("/tmp/a"))
    new = dataclasses.replace(
        old,
        contract="opportunity_id_only",
        callback_api="soap",
        session_ids=True,
        oauth_fallback=True,
        worker_processes=1,
        worker_threads=3,
        worker_env={"SFGW_ERP_READ_TIMEOUT_S": "1"},
        erp_faults={"latency": {"distribution": "fixed", "ms": 100}},
    )
    assert unswitchable_changes(old, new) == []


@pytest.mark.parametrize(
    "change",
    [
        {"workdir": Path("/tmp/b")},
        {"erp_workers": 4},
        {"salesforce_env": {"SFGW_MOCKSF_CHAOS_REDELIVER": "0.3"}},
        {"time_scale": 10.0},
        {"env": {"SFGW_LOG_LEVEL": "DEBUG"}},
        {"redis_url": "redis://127.0.0.1:1/0"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_settings_only_a_start_gives_are_named(change: dict[str, Any]) -> None:
    old = StackConfig(workdir=Path("/tmp/a"))
    assert unswitchable_changes(old, dataclasses.replace(old, **change)) == list(change)


def test_every_switchable_setting_is_a_config_field() -> None:
    fields = {f.name for f in dataclasses.fields(StackConfig)}
    assert fields >= SWITCHABLE_SETTINGS
