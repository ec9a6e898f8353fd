"""The environment each product process of a stack gets: built here and nowhere else.

A worker group's variables decide where orders go and how callbacks authenticate; when
tests, benchmarks and the demo each assembled them, a new setting reached some of them
and not others. :func:`worker_env` is therefore the only place that says what ``sfgw
worker`` (and ``sfgw reconcile``, which reads the same settings) needs against the mocks;
the launcher adds Redis and the process sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devstack.config import CLIENT_ID, CLIENT_SECRET, StackConfig
from devstack.launch import LAUNCHER_VARIABLES


def worker_env(
    config: StackConfig,
    *,
    secret_key: str,
    salesforce_url: str,
    erp_url: str,
    overrides: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Everything a worker group of ``config`` needs except Redis: the secret key and
    ``config.env``, then the wiring the stack decides (callback mode and credentials for
    the org at ``salesforce_url``, its login URL; the ERP at ``erp_url``), then
    ``config.worker_env`` and ``overrides`` on top."""
    return {
        "SFGW_SECRET_KEY": secret_key,
        **config.env,
        **callback_env(config, salesforce_url),
        "SFGW_ERP_URL": erp_url,
        **config.worker_env,
        **(overrides or {}),
    }


def callback_env(config: StackConfig, salesforce_url: str) -> dict[str, str]:
    """How the workers write back; ``salesforce_url`` is the org's (login and instance)."""
    env = {"SFGW_CALLBACK_API": config.callback_api}
    if config.session_ids:
        # Legacy mode: call back with the SessionId each message carries, to its
        # PartnerUrl, which is only trusted on an allowlisted host (the mock's loopback).
        env.update({"SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "127.0.0.1"})
    if not config.session_ids or config.oauth_fallback:
        env.update(
            {
                "SFGW_SF_AUTH": "client_credentials",
                "SFGW_SF_LOGIN_URL": salesforce_url,
                "SFGW_SF_CLIENT_ID": CLIENT_ID,
                "SFGW_SF_CLIENT_SECRET": CLIENT_SECRET,
            }
        )
    return env


def gateway_env(config: StackConfig, *, secret_key: str, org_id: str) -> dict[str, str]:
    """A gateway's variables (Redis and its port come from the launcher): the mock org
    ``org_id`` and ``config.allowed_orgs`` are the orgs it accepts."""
    allowed = "*" if "*" in config.allowed_orgs else ",".join((org_id, *config.allowed_orgs))
    return {"SFGW_SECRET_KEY": secret_key, **config.env, "SFGW_ALLOWED_ORGS": allowed}


def wired_variables() -> frozenset[str]:
    """The variables a stack sets itself for every run, whatever the environment says
    (Redis, the orgs, the ERP, the callback mode and credentials, the process sizes)."""
    config = StackConfig(workdir=Path())
    names = {*worker_env(config, secret_key="", salesforce_url="", erp_url="")}
    names |= {*gateway_env(config, secret_key="", org_id="")}
    return frozenset(names | LAUNCHER_VARIABLES)
