"""Settings of the mock Salesforce org (``SFGW_MOCKSF_*``).

One explicit object built from the environment at start-up, so that the gunicorn workers,
the sender and the CLI all read the same values and a bad one stops the process with a
line naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway import sfid
from gateway.config import (
    ConfigError,
    Env,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_optional_str,
    env_str,
    env_url,
)
from gateway.settings import PROJECT_ROOT

DEFAULT_ORG_ID = sfid.to18("00D5g000004SfGw")
#: The org bundle the mock org runs unless SFGW_MOCKSF_BUNDLE names another SFDX project.
DEFAULT_BUNDLE = PROJECT_ROOT / "salesforce"
#: The bundle's messages the org sends unless SFGW_MOCKSF_CONTRACTS says (``*``: all): the
#: repository's bundle has one per contract, and a win sent to both is two orders' work.
DEFAULT_CONTRACTS = ("opportunity_with_fields",)


@dataclass(frozen=True)
class SalesforceSettings:
    db_path: Path
    org_id: str
    api_version: str
    base_url: str | None
    gateway_url: str | None
    #: Which of the bundle's outbound messages are active, by the contract (route) they
    #: post to; ``*``: all of them.
    contracts: tuple[str, ...]
    send_session_id: bool
    time_scale: float
    min_attempt_timeout: float
    sender_threads: int
    client_id: str
    client_secret: str
    jwt_cert_path: Path | None
    username: str
    login_url: str
    session_ttl: float
    daily_api_limit: int
    chaos_redeliver: float
    chaos_reorder: float
    chaos_split: float
    #: The SFDX project the org runs on (outbound messages, flows, fields, Apex classes).
    bundle_path: Path = DEFAULT_BUNDLE
    #: The Apex callback classes are deployed: None follows the bundle (deployed when it
    #: holds them); ``PUT /admin/apex`` switches at run time.
    apex_deployed: bool | None = None

    @property
    def org_id15(self) -> str:
        return self.org_id[:15]

    @classmethod
    def from_env(cls, env: Env | None = None) -> SalesforceSettings:
        env = os.environ if env is None else env
        raw_org = env_str(env, "SFGW_MOCKSF_ORG_ID", DEFAULT_ORG_ID)
        if not sfid.is_valid(raw_org) or not raw_org.startswith("00D"):
            raise ConfigError(
                f"SFGW_MOCKSF_ORG_ID={raw_org!r} is not an organization id (15 or 18 characters "
                "starting with 00D)"
            )
        cert = env_optional_str(env, "SFGW_MOCKSF_JWT_CERT")
        if cert is not None and not Path(cert).is_file():
            raise ConfigError(f"SFGW_MOCKSF_JWT_CERT={cert!r} is not a readable PEM file")
        bundle = Path(env_str(env, "SFGW_MOCKSF_BUNDLE", str(DEFAULT_BUNDLE)))
        if not (bundle / "sfdx-project.json").is_file():
            raise ConfigError(
                f"SFGW_MOCKSF_BUNDLE={str(bundle)!r} is not an SFDX project (no "
                "sfdx-project.json); point it at the folder of your org's metadata"
            )
        version = env_str(env, "SFGW_MOCKSF_API_VERSION", "62.0")
        try:
            float(version)
        except ValueError:
            raise ConfigError(f"SFGW_MOCKSF_API_VERSION={version!r} is not like 62.0") from None
        return cls(
            db_path=Path(env_str(env, "SFGW_MOCKSF_DB", "salesforce.sqlite3")),
            org_id=sfid.to18(raw_org),
            api_version=version,
            base_url=env_url(env, "SFGW_MOCKSF_BASE_URL", None, schemes=("http", "https")),
            gateway_url=env_url(env, "SFGW_MOCKSF_GATEWAY_URL", None, schemes=("http", "https")),
            contracts=env_list(env, "SFGW_MOCKSF_CONTRACTS") or DEFAULT_CONTRACTS,
            send_session_id=env_bool(env, "SFGW_MOCKSF_SEND_SESSION_ID", False),
            time_scale=env_float(env, "SFGW_MOCKSF_TIME_SCALE", 1.0, minimum=0.001),
            min_attempt_timeout=env_float(
                env, "SFGW_MOCKSF_MIN_ATTEMPT_TIMEOUT", 1.0, minimum=0.05
            ),
            sender_threads=env_int(env, "SFGW_MOCKSF_SENDER_THREADS", 4, minimum=1, maximum=64),
            client_id=env_str(env, "SFGW_MOCKSF_CLIENT_ID", "sfgw-client"),
            client_secret=env_str(env, "SFGW_MOCKSF_CLIENT_SECRET", "sfgw-secret"),
            jwt_cert_path=Path(cert) if cert else None,
            username=env_str(env, "SFGW_MOCKSF_USERNAME", "integration@sfgw.example"),
            login_url=env_str(env, "SFGW_MOCKSF_LOGIN_URL", "https://login.salesforce.com"),
            session_ttl=env_float(env, "SFGW_MOCKSF_SESSION_TTL", 7200.0, minimum=0.1),
            daily_api_limit=env_int(env, "SFGW_MOCKSF_DAILY_API_LIMIT", 100_000, minimum=1),
            chaos_redeliver=env_float(
                env, "SFGW_MOCKSF_CHAOS_REDELIVER", 0.0, minimum=0, maximum=1
            ),
            chaos_reorder=env_float(env, "SFGW_MOCKSF_CHAOS_REORDER", 0.0, minimum=0, maximum=1),
            chaos_split=env_float(env, "SFGW_MOCKSF_CHAOS_SPLIT", 0.0, minimum=0, maximum=1),
            bundle_path=bundle,
            apex_deployed=(
                env_bool(env, "SFGW_MOCKSF_APEX_DEPLOYED", True)
                if env_optional_str(env, "SFGW_MOCKSF_APEX_DEPLOYED") is not None
                else None
            ),
        )
