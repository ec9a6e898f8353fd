"""Fixtures of the API-economy tests: the pipeline tests' settings and Redis
fixtures, plus a whole real stack (mock Salesforce, mock ERP, workers) on demand."""

from __future__ import annotations

from tests.pipeline.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    base_env,
    client,
    core,
    fake_sf,
    secret_key,
    settings,
    sf_env,
)
