"""Reading ``SFGW_*`` environment variables into typed values.

Every setting is read through these functions so that a bad value stops the process at
start-up with one line that names the variable, what was wrong and what would be right,
instead of surfacing later as a confusing failure deep inside a request.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from collections.abc import Mapping
from urllib.parse import urlsplit

PREFIX = "SFGW_"

Env = Mapping[str, str]


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and the fix."""


def _raw(env: Env, name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(env: Env, name: str, default: str) -> str:
    return _raw(env, name) or default


def env_optional_str(env: Env, name: str) -> str | None:
    return _raw(env, name)


def env_int(
    env: Env,
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} is above the maximum of {maximum}")
    return value


def env_float(
    env: Env,
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> float:
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if math.isnan(value):
        raise ConfigError(f"{name} must be a number, not NaN")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} is above the maximum of {maximum}")
    return value


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_bool(env: Env, name: str, default: bool) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean; use true or false")


def env_list(env: Env, name: str) -> tuple[str, ...]:
    """A comma-separated list; blanks are dropped."""
    raw = _raw(env, name)
    if raw is None:
        return ()
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_choice(env: Env, name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = _raw(env, name)
    if raw is None:
        return default
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} is not one of: {', '.join(choices)}")
    return raw


def env_url(env: Env, name: str, default: str | None, *, schemes: tuple[str, ...]) -> str | None:
    raw = _raw(env, name) or default
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}"
        )
    return raw


def env_networks(env: Env, name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for item in env_list(env, name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name}: {item!r} is not an IP network; use CIDR notation such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def env_fernet_key(env: Env, name: str) -> bytes | None:
    """A Fernet key: urlsafe base64 of exactly 32 bytes."""
    raw = _raw(env, name)
    if raw is None:
        return None
    try:
        decoded = base64.urlsafe_b64decode(raw.encode("ascii"))
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != 32:
        raise ConfigError(
            f"{name} must be urlsafe base64 of 32 random bytes; make one with "
            '`python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`'
        )
    return raw.encode("ascii")
