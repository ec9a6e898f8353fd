"""Settings shared by every sfgw process.

Each part of the product (intake, workers, clients) keeps its own settings object next to
its code and builds it from the environment with the helpers in :mod:`gateway.config`;
this module holds only what all of them need: where Redis is (and how to connect to it:
:mod:`gateway.redis_connection`), the key prefix, the secret key and where the contracts
live.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.config import (
    ConfigError,
    Env,
    env_fernet_key,
    env_optional_str,
    env_str,
)
from gateway.redis_connection import RedisSettings

#: The repository root when sfgw runs from a checkout (the supported layout: the scripts
#: install it editable), so contracts/ and generated/ sit next to the packages.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class CoreSettings:
    """Where shared state lives.

    ``redis`` is not :attr:`~RedisSettings.configured` when neither ``SFGW_REDIS_URL`` nor
    ``SFGW_REDIS_SENTINELS`` is set; commands that need Redis then either start an
    embedded server (``sfgw demo``, the tests) or stop with a message that names the
    variable.
    """

    redis: RedisSettings
    redis_prefix: str
    secret_key: bytes | None
    contracts_dir: Path
    generated_dir: Path
    log_level: str

    @classmethod
    def from_env(cls, env: Env | None = None) -> CoreSettings:
        env = os.environ if env is None else env
        prefix = env_str(env, "SFGW_REDIS_PREFIX", "sfgw")
        if not prefix.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ConfigError(
                f"SFGW_REDIS_PREFIX={prefix!r} may hold only letters, digits, '-', '_' and '.'"
            )
        contracts = Path(env_str(env, "SFGW_CONTRACTS_DIR", str(PROJECT_ROOT / "contracts")))
        if not contracts.is_dir():
            raise ConfigError(f"SFGW_CONTRACTS_DIR={str(contracts)!r} is not a directory")
        level = env_str(env, "SFGW_LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"SFGW_LOG_LEVEL={level!r} is not one of DEBUG, INFO, WARNING, ERROR")
        return cls(
            redis=RedisSettings.from_env(env),
            redis_prefix=prefix,
            secret_key=env_fernet_key(env, "SFGW_SECRET_KEY"),
            contracts_dir=contracts,
            generated_dir=Path(
                env_optional_str(env, "SFGW_GENERATED_DIR") or str(PROJECT_ROOT / "generated")
            ),
            log_level=level,
        )

    @property
    def redis_url(self) -> str | None:
        """``SFGW_REDIS_URL`` (``None`` under Sentinel or when unset)."""
        return self.redis.url

    def require_redis(self) -> RedisSettings:
        """How to reach Redis, or a :class:`ConfigError` naming the variables to set."""
        return self.redis.require()

    def require_secret_key(self) -> bytes:
        if self.secret_key is None:
            raise ConfigError(
                "SFGW_SECRET_KEY is not set; it encrypts SessionIds and tokens at rest "
                '(make one with `python -c "from cryptography.fernet import Fernet; '
                'print(Fernet.generate_key().decode())"`)'
            )
        return self.secret_key

    def key(self, *parts: str) -> str:
        """A Redis key under the prefix: ``key("dedupe", org)`` is ``sfgw:dedupe:<org>``."""
        return ":".join((self.redis_prefix, *parts))
