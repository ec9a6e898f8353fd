"""How the workers reach Salesforce: credentials, hosts, API version, the callback fields.

Read once at start-up (``gateway.pipeline.settings.WorkerSettings``); combinations are
checked too (JWT bearer without a key file, the legacy SessionId mode without a host
allowlist), because those would otherwise surface hours later as dead letters.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.config import (
    ConfigError,
    Env,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional_str,
    env_str,
    env_url,
)

#: How the order number is written back (``gateway.pipeline.callbacks``): REST per record,
#: sObject Collections, the Partner API's update, or the org's own Apex (SOAP or REST).
CALLBACK_APIS = ("rest", "collections", "soap", "apex_soap", "apex_rest")
APEX_APIS = ("apex_soap", "apex_rest")
AUTH_FLOWS = ("client_credentials", "jwt_bearer")

DAY_S = 24 * 3600
_API_VERSION_CHARS = set("0123456789.")
_HOST_PATTERN = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


@dataclass(frozen=True)
class SalesforceSettings:
    """How the workers authenticate to Salesforce and which hosts they may call."""

    callback_api: str
    auth_flow: str
    login_url: str
    client_id: str | None
    client_secret: str | None
    username: str | None
    private_key_file: Path | None
    audience: str
    use_session_id: bool
    hosts: tuple[str, ...]
    api_version: str
    order_number_field: str
    order_status_field: str
    timeout_s: float
    token_cache_s: int
    token_lock_s: int

    @property
    def oauth_configured(self) -> bool:
        return self.client_id is not None

    @classmethod
    def from_env(cls, env: Env | None = None) -> SalesforceSettings:
        env = os.environ if env is None else env
        auth_flow = env_choice(env, "SFGW_SF_AUTH", "client_credentials", AUTH_FLOWS)
        login_url = env_url(
            env, "SFGW_SF_LOGIN_URL", "https://login.salesforce.com", schemes=("https", "http")
        )
        login_url = (login_url or "https://login.salesforce.com").rstrip("/")
        client_id = env_optional_str(env, "SFGW_SF_CLIENT_ID")
        client_secret = env_optional_str(env, "SFGW_SF_CLIENT_SECRET")
        username = env_optional_str(env, "SFGW_SF_USERNAME")
        key_file_raw = env_optional_str(env, "SFGW_SF_PRIVATE_KEY_FILE")
        key_file = Path(key_file_raw) if key_file_raw else None
        use_session_id = env_bool(env, "SFGW_SF_USE_SESSION_ID", False)
        hosts = tuple(h.lower() for h in env_list(env, "SFGW_SALESFORCE_HOSTS"))
        for host in hosts:
            _check_host_pattern(host)
        version = env_str(env, "SFGW_SALESFORCE_API_VERSION", "62.0")
        if not set(version) <= _API_VERSION_CHARS or version.count(".") != 1:
            raise ConfigError(f"SFGW_SALESFORCE_API_VERSION={version!r} must look like 62.0")
        if client_id is not None:
            if auth_flow == "client_credentials" and client_secret is None:
                raise ConfigError(
                    "SFGW_SF_AUTH=client_credentials needs SFGW_SF_CLIENT_SECRET "
                    "(the consumer secret of the external client app)"
                )
            if auth_flow == "jwt_bearer":
                if key_file is None or username is None:
                    raise ConfigError(
                        "SFGW_SF_AUTH=jwt_bearer needs SFGW_SF_PRIVATE_KEY_FILE (PEM RSA key) "
                        "and SFGW_SF_USERNAME (the integration user)"
                    )
                if not key_file.is_file():
                    raise ConfigError(f"SFGW_SF_PRIVATE_KEY_FILE={str(key_file)!r} is not a file")
        elif not use_session_id:
            raise ConfigError(
                "no Salesforce credential: set SFGW_SF_CLIENT_ID (OAuth, recommended) or "
                "SFGW_SF_USE_SESSION_ID=true (legacy: the SessionId sent with each message)"
            )
        if use_session_id and not hosts:
            raise ConfigError(
                "SFGW_SF_USE_SESSION_ID=true needs SFGW_SALESFORCE_HOSTS: a SessionId is only "
                "sent to a PartnerUrl host on that allowlist, e.g. *.my.salesforce.com"
            )
        fields = callback_fields(env)
        return cls(
            callback_api=env_choice(env, "SFGW_CALLBACK_API", "collections", CALLBACK_APIS),
            auth_flow=auth_flow,
            login_url=login_url,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            private_key_file=key_file,
            audience=env_str(env, "SFGW_SF_AUDIENCE", login_url),
            use_session_id=use_session_id,
            hosts=hosts,
            api_version=version,
            order_number_field=fields.order_number,
            order_status_field=fields.order_status,
            timeout_s=env_int(env, "SFGW_SF_TIMEOUT_MS", 20_000, minimum=100, maximum=600_000)
            / 1000,
            token_cache_s=env_int(env, "SFGW_SF_TOKEN_CACHE_S", 1800, minimum=10, maximum=DAY_S),
            token_lock_s=env_int(env, "SFGW_SF_TOKEN_LOCK_S", 30, minimum=1, maximum=600),
        )


@dataclass(frozen=True)
class CallbackFields:
    """The Opportunity fields the callback writes: the order number and its status."""

    order_number: str
    order_status: str


def callback_fields(env: Env | None = None) -> CallbackFields:
    """``SFGW_ORDER_NUMBER_FIELD`` and ``SFGW_ORDER_STATUS_FIELD``, on their own.

    Read apart from :class:`SalesforceSettings` because ``sfgw bindings check`` compares
    them with the org bundle's fields on a machine that holds no Salesforce credential.
    """
    env = os.environ if env is None else env
    return CallbackFields(
        order_number=_field_name(env, "SFGW_ORDER_NUMBER_FIELD", "Order_Number__c"),
        order_status=_field_name(env, "SFGW_ORDER_STATUS_FIELD", "Order_Status__c"),
    )


def _field_name(env: Env, name: str, default: str) -> str:
    value = env_str(env, name, default)
    if not value.replace("_", "").isalnum() or not value[0].isalpha():
        raise ConfigError(f"{name}={value!r} is not a Salesforce field API name")
    return value


def _check_host_pattern(pattern: str) -> None:
    if not _HOST_PATTERN.fullmatch(pattern):
        raise ConfigError(
            f"SFGW_SALESFORCE_HOSTS: {pattern!r} is not a host name "
            "(use names like acme.my.salesforce.com or *.my.salesforce.com, no scheme or port)"
        )
