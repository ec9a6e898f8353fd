"""What a stack config allows and what a running stack may switch (devstack.config), and
the environments it gives its processes (devstack.envs), checked without starting one."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from devstack.config import ORG_ONLY
from devstack.envs import gateway_env, wired_variables, worker_env
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


def test_the_gateway_accepts_the_mock_org_and_the_allowed_ones() -> None:
    config = StackConfig(workdir=Path("/tmp/a"), allowed_orgs=("00D5g0000OTHER1EQP",))
    env = gateway_env(config, secret_key="k", org_id="00D5g000004SfGwEAK")
    assert env["SFGW_ALLOWED_ORGS"] == "00D5g000004SfGwEAK,00D5g0000OTHER1EQP"
    anyone = dataclasses.replace(config, allowed_orgs=("*",))
    assert gateway_env(anyone, secret_key="k", org_id="x")["SFGW_ALLOWED_ORGS"] == "*"
    assert (
        gateway_env(StackConfig(workdir=Path("/tmp/a")), secret_key="k", org_id="x")[
            "SFGW_ALLOWED_ORGS"
        ]
        == "x"
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"env": {"SFGW_ALLOWED_ORGS": "*"}}, "allowed_orgs"),
        ({"worker_env": {"SFGW_ALLOWED_ORGS": "*"}}, "allowed_orgs"),
        ({"parts": frozenset({"redis", "nginx"})}, "unknown parts"),
        ({"parts": ORG_ONLY}, "needs the gateway"),
        ({"outbound": "elsewhere"}, "outbound must be"),
        ({"callback_api": "fax"}, "callback_api"),
    ],
)
def test_configs_that_cannot_work_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StackConfig(workdir=Path("/tmp/a"), **settings)


def test_a_worker_groups_environment_is_wired_to_the_stack_and_then_overridden() -> None:
    config = StackConfig(
        workdir=Path("/tmp/a"),
        callback_api="soap",
        env={"SFGW_LOG_LEVEL": "DEBUG", "SFGW_CALLBACK_API": "rest"},
        worker_env={"SFGW_RETRY_MIN_BACKOFF_MS": "100"},
    )
    env = worker_env(
        config,
        secret_key="k",
        salesforce_url="http://127.0.0.1:1",
        erp_url="http://127.0.0.1:2/erp/orders",
        overrides={"SFGW_RETRY_MIN_BACKOFF_MS": "5"},
    )
    assert env["SFGW_CALLBACK_API"] == "soap"  # the stack's wiring beats the shared env
    assert env["SFGW_LOG_LEVEL"] == "DEBUG"
    assert env["SFGW_ERP_URL"] == "http://127.0.0.1:2/erp/orders"
    assert env["SFGW_SF_LOGIN_URL"] == "http://127.0.0.1:1"
    assert env["SFGW_SF_AUTH"] == "client_credentials"
    assert env["SFGW_RETRY_MIN_BACKOFF_MS"] == "5"
    legacy = worker_env(
        dataclasses.replace(config, session_ids=True),
        secret_key="k",
        salesforce_url="http://127.0.0.1:1",
        erp_url="",
    )
    assert legacy["SFGW_SF_USE_SESSION_ID"] == "true" and "SFGW_SF_AUTH" not in legacy
    assert {"SFGW_ALLOWED_ORGS", "SFGW_REDIS_URL", "SFGW_ERP_URL"} <= wired_variables()
