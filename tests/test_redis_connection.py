"""How to reach Redis, read from SFGW_REDIS_*: one server or Sentinel, never both, and
one line naming the variable for each mistake. No server is needed here."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from gateway.config import ConfigError
from gateway.intake.settings import IntakeSettings
from gateway.redis_connection import NotReplicated, RedisSettings, ReplicaQuorum, connect
from gateway.settings import CoreSettings

SENTINELS = {
    "SFGW_REDIS_SENTINELS": "10.0.0.1:26379, [fd00::2]:26380",
    "SFGW_REDIS_SENTINEL_MASTER": "sfgw",
}


def test_url_alone() -> None:
    settings = RedisSettings.from_env({"SFGW_REDIS_URL": "redis://h:6379/2"})
    assert (settings.url, settings.uses_sentinel, settings.quorum) == (
        "redis://h:6379/2",
        False,
        None,
    )
    assert settings.describe() == "SFGW_REDIS_URL"


def test_sentinels_alone() -> None:
    settings = RedisSettings.from_env(
        {**SENTINELS, "SFGW_REDIS_PASSWORD": "s3cret", "SFGW_REDIS_DB": "3"}
    )
    assert settings.sentinels == (("10.0.0.1", 26379), ("fd00::2", 26380))
    assert (settings.sentinel_master, settings.db, settings.url) == ("sfgw", 3, None)
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.describe()
    assert "10.0.0.1:26379" in settings.describe()


def test_both_is_one_line_naming_both() -> None:
    with pytest.raises(ConfigError) as error:
        RedisSettings.from_env({**SENTINELS, "SFGW_REDIS_URL": "redis://h:6379/0"})
    message = str(error.value)
    assert "\n" not in message
    assert "SFGW_REDIS_URL" in message and "SFGW_REDIS_SENTINELS" in message


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SFGW_REDIS_SENTINELS": "10.0.0.1:26379"}, "SFGW_REDIS_SENTINEL_MASTER"),
        ({"SFGW_REDIS_SENTINEL_MASTER": "sfgw"}, "SFGW_REDIS_SENTINELS"),
        ({**SENTINELS, "SFGW_REDIS_SENTINELS": "10.0.0.1"}, "SFGW_REDIS_SENTINELS"),
        ({**SENTINELS, "SFGW_REDIS_SENTINELS": "h:0"}, "SFGW_REDIS_SENTINELS"),
        ({"SFGW_REDIS_URL": "redis://h/0", "SFGW_REDIS_TLS": "true"}, "SFGW_REDIS_TLS"),
        (
            {"SFGW_REDIS_URL": "redis://h/0", "SFGW_REDIS_TLS_CA_FILE": __file__},
            "SFGW_REDIS_TLS_CA_FILE",
        ),
        ({**SENTINELS, "SFGW_REDIS_TLS_CA_FILE": "/nonexistent.pem"}, "SFGW_REDIS_TLS_CA_FILE"),
        ({"SFGW_REDIS_URL": "redis://:pw@h/0", "SFGW_REDIS_PASSWORD": "x"}, "SFGW_REDIS_PASSWORD"),
        ({"SFGW_REDIS_URL": "redis://h/0", "SFGW_REDIS_DB": "1"}, "SFGW_REDIS_DB"),
        ({**SENTINELS, "SFGW_REDIS_MIN_REPLICAS": "-1"}, "SFGW_REDIS_MIN_REPLICAS"),
        ({**SENTINELS, "SFGW_REDIS_REPLICA_TIMEOUT_MS": "0"}, "SFGW_REDIS_REPLICA_TIMEOUT_MS"),
        ({**SENTINELS, "SFGW_REDIS_TLS": "maybe"}, "SFGW_REDIS_TLS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named) as error:
        RedisSettings.from_env(env)
    assert "\n" not in str(error.value)


def test_tls_reaches_the_connections(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read until a connection is made")
    settings = RedisSettings.from_env(
        {**SENTINELS, "SFGW_REDIS_TLS": "true", "SFGW_REDIS_TLS_CA_FILE": str(ca)}
    )
    assert settings.tls and settings.sentinel_tls
    client = connect(settings, timeout_s=1)
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(ca)
    assert "SSL" in client.connection_pool.connection_class.__name__
    plain = RedisSettings.from_env(
        {**SENTINELS, "SFGW_REDIS_TLS": "true", "SFGW_REDIS_SENTINEL_TLS": "false"}
    )
    assert plain.tls and not plain.sentinel_tls


def test_the_quorum_and_its_check() -> None:
    settings = RedisSettings.from_env({**SENTINELS, "SFGW_REDIS_MIN_REPLICAS": "2"})
    assert settings.quorum == ReplicaQuorum(2, 1000)
    ReplicaQuorum(2, 1000).check(3)
    with pytest.raises(NotReplicated, match="1 of 2"):
        ReplicaQuorum(2, 1000).check(1)
    assert issubclass(NotReplicated, redis.RedisError)


def test_unconfigured_is_an_error_only_when_needed() -> None:
    core = CoreSettings.from_env({})
    assert not core.redis.configured and core.redis_url is None
    with pytest.raises(ConfigError, match="SFGW_REDIS_URL"):
        core.require_redis()


def test_the_replica_wait_must_fit_in_the_enqueue_deadline() -> None:
    env = {**SENTINELS, "SFGW_ALLOWED_ORGS": "*", "SFGW_REDIS_MIN_REPLICAS": "1"}
    IntakeSettings.from_env({**env, "SFGW_REDIS_REPLICA_TIMEOUT_MS": "1999"})
    with pytest.raises(ConfigError) as error:
        IntakeSettings.from_env({**env, "SFGW_REDIS_REPLICA_TIMEOUT_MS": "2000"})
    assert "SFGW_REDIS_REPLICA_TIMEOUT_MS" in str(error.value)
    assert "SFGW_ENQUEUE_TIMEOUT_MS" in str(error.value)
