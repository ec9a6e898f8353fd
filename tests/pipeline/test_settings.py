"""WorkerSettings (everything a worker loads at start-up): defaults, and one clear line
for each bad setting, whichever part of the settings it belongs to."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError
from gateway.pipeline.settings import WorkerSettings

OAUTH = {"SFGW_SF_CLIENT_ID": "key", "SFGW_SF_CLIENT_SECRET": "secret"}


def test_defaults() -> None:
    settings = WorkerSettings.from_env(OAUTH)
    pipeline = settings.pipeline
    assert pipeline.retry_for_s == 86_400
    assert pipeline.dedupe_ttl_s >= 7 * 86_400
    assert pipeline.max_backoff_ms <= 6 * 3600_000
    sf = settings.salesforce
    assert sf.callback_api == "collections"
    assert sf.auth_flow == "client_credentials"
    assert sf.api_version == "62.0"
    assert (sf.order_number_field, sf.order_status_field) == ("Order_Number__c", "Order_Status__c")
    assert sf.audience == "https://login.salesforce.com"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, "SFGW_SF_CLIENT_ID"),
        ({"SFGW_SF_CLIENT_ID": "key"}, "SFGW_SF_CLIENT_SECRET"),
        ({**OAUTH, "SFGW_CALLBACK_API": "graphql"}, "SFGW_CALLBACK_API"),
        ({**OAUTH, "SFGW_SF_AUTH": "password"}, "SFGW_SF_AUTH"),
        ({"SFGW_SF_CLIENT_ID": "key", "SFGW_SF_AUTH": "jwt_bearer"}, "SFGW_SF_PRIVATE_KEY_FILE"),
        (
            {
                "SFGW_SF_CLIENT_ID": "key",
                "SFGW_SF_AUTH": "jwt_bearer",
                "SFGW_SF_USERNAME": "u@x",
                "SFGW_SF_PRIVATE_KEY_FILE": "/nonexistent/key.pem",
            },
            "SFGW_SF_PRIVATE_KEY_FILE",
        ),
        ({"SFGW_SF_USE_SESSION_ID": "true"}, "SFGW_SALESFORCE_HOSTS"),
        ({**OAUTH, "SFGW_SALESFORCE_HOSTS": "https://evil.example/"}, "SFGW_SALESFORCE_HOSTS"),
        ({**OAUTH, "SFGW_SALESFORCE_API_VERSION": "v62"}, "SFGW_SALESFORCE_API_VERSION"),
        ({**OAUTH, "SFGW_ORDER_NUMBER_FIELD": "Order Number"}, "SFGW_ORDER_NUMBER_FIELD"),
        ({**OAUTH, "SFGW_DEDUPE_TTL_S": "3600"}, "SFGW_DEDUPE_TTL_S"),
        ({**OAUTH, "SFGW_RETRY_FOR_S": "soon"}, "SFGW_RETRY_FOR_S"),
        (
            {**OAUTH, "SFGW_RETRY_MIN_BACKOFF_MS": "5000", "SFGW_RETRY_MAX_BACKOFF_MS": "1000"},
            "SFGW_RETRY_MAX_BACKOFF_MS",
        ),
        ({**OAUTH, "SFGW_WORKER_PROCESSES": "0"}, "SFGW_WORKER_PROCESSES"),
        ({**OAUTH, "SFGW_ORDER_CURRENCY": "euro"}, "SFGW_ORDER_CURRENCY"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        WorkerSettings.from_env(env)


def test_jwt_bearer_and_legacy_mode(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    settings = WorkerSettings.from_env(
        {
            "SFGW_SF_AUTH": "jwt_bearer",
            "SFGW_SF_CLIENT_ID": "key",
            "SFGW_SF_USERNAME": "integration@example.com",
            "SFGW_SF_PRIVATE_KEY_FILE": str(key),
            "SFGW_SF_AUDIENCE": "https://test.salesforce.com",
            "SFGW_SF_USE_SESSION_ID": "true",
            "SFGW_SALESFORCE_HOSTS": "*.my.salesforce.com, acme.my.salesforce.com",
            "SFGW_CALLBACK_API": "soap",
        }
    )
    sf = settings.salesforce
    assert sf.auth_flow == "jwt_bearer" and sf.audience == "https://test.salesforce.com"
    assert sf.hosts == ("*.my.salesforce.com", "acme.my.salesforce.com")
    assert sf.use_session_id and sf.callback_api == "soap"


def test_session_id_only_mode_needs_no_oauth() -> None:
    settings = WorkerSettings.from_env(
        {"SFGW_SF_USE_SESSION_ID": "true", "SFGW_SALESFORCE_HOSTS": "*.my.salesforce.com"}
    )
    assert not settings.salesforce.oauth_configured
