"""Fixtures of the API-economy tests: the pipeline tests' settings, Redis and mock
fixtures (the mock org and mock ERP, one per module, faults cleared around each test)."""

from __future__ import annotations

from tests.pipeline.conftest import (  # noqa: F401 - fixtures re-exported for this folder
    _clean_mocks,
    base_env,
    client,
    core,
    jwt_keys,
    mock_erp,
    mock_sf,
    pipeline_env,
    secret_key,
    settings,
    sf_env,
)
