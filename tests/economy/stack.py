"""Helpers for tests that run the real stack: worker settings and the sfgw CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def worker_env(secret_key: str, sf_url: str, erp_url: str, **extra: str) -> dict[str, str]:
    """What ``sfgw worker`` and ``sfgw reconcile`` need against the mocks (Redis comes
    from the launcher)."""
    return {
        "SFGW_SECRET_KEY": secret_key,
        "SFGW_SF_LOGIN_URL": sf_url,
        "SFGW_SF_CLIENT_ID": "sfgw-client",
        "SFGW_SF_CLIENT_SECRET": "sfgw-secret",
        "SFGW_ERP_URL": erp_url,
        "SFGW_RETRY_MIN_BACKOFF_MS": "100",
        "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
        "SFGW_RETRY_LIMIT_BACKOFF_MS": "1000",
        "SFGW_RECONCILE_MIN_AGE_S": "0",
        **extra,
    }


def run_sfgw(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
