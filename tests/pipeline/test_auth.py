"""The OAuth token manager against a Salesforce-shaped token endpoint on loopback."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path

import jwt
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.pipeline.settings import PipelineSettings
from gateway.salesforce.auth import TokenManager, checked_base_url, host_allowed
from gateway.salesforce.callbacks import make_http_session
from gateway.salesforce.errors import HostNotAllowed, SalesforceAuthError
from gateway.settings import CoreSettings
from tests.pipeline.fake_salesforce import FakeSalesforce


def _manager(settings: PipelineSettings, core: CoreSettings, client: redis.Redis) -> TokenManager:
    return TokenManager(settings.salesforce, core, client, make_http_session())


def test_token_is_cached_encrypted_and_shared(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    first = _manager(settings, core, client)
    token = first.get()
    assert token.instance_url == fake_sf.url
    assert token.org_id == "00D000000000001AAA"
    # another process (its own manager and HTTP session) reuses it
    assert _manager(settings, core, client).get().value == token.value
    assert fake_sf.org.token_requests == 1
    form = fake_sf.org.token_forms[0]
    assert form["grant_type"] == "client_credentials" and form["client_id"] == "3MVG9-consumer-key"
    stored = b"".join(
        client.get(k) or b"" for k in client.scan_iter(match=f"{core.redis_prefix}:sf:token:*")
    )
    assert stored and token.value.encode() not in stored


def test_one_refresh_for_many_concurrent_callers(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    managers = [_manager(settings, core, client) for _ in range(8)]
    values: list[str] = []
    barrier = threading.Barrier(len(managers))

    def work(manager: TokenManager) -> None:
        barrier.wait()
        values.append(manager.get().value)

    threads = [threading.Thread(target=work, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(values) == 8 and len(set(values)) == 1
    assert fake_sf.org.token_requests == 1


def test_invalidate_replaces_only_the_rejected_token(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    a, b = _manager(settings, core, client), _manager(settings, core, client)
    old = a.get()
    a.invalidate(old)
    new = a.get()
    assert new.value != old.value and fake_sf.org.token_requests == 2
    b.invalidate(old)  # a late caller with the old token must not throw the new one away
    assert b.get().value == new.value
    assert fake_sf.org.token_requests == 2


def test_a_token_is_decrypted_once_yet_read_from_redis_each_time(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    manager = _manager(settings, core, client)
    decrypted: list[str] = []
    box = manager._box
    real = box.decrypt

    def counting(token: str) -> str | None:
        decrypted.append(token)
        return real(token)

    box.decrypt = counting  # type: ignore[method-assign]
    other = _manager(settings, core, client)
    first = other.get()
    assert [manager.get().value for _ in range(5)] == [first.value] * 5
    assert len(decrypted) == 1
    # another worker replaces it: the next read sees the new one (and decrypts it once)
    other.invalidate(first)
    second = other.get()
    assert second.value != first.value
    assert [manager.get().value for _ in range(3)] == [second.value] * 3
    assert len(decrypted) == 2
    # and dropped: no stale token from memory, a fresh one is fetched
    other.invalidate(second)
    assert manager.get().value not in (first.value, second.value)


def test_jwt_bearer_signs_the_documented_claims(
    sf_env: dict[str, str],
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
    tmp_path: Path,
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "server.key"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {
        **sf_env,
        "SFGW_SF_AUTH": "jwt_bearer",
        "SFGW_SF_USERNAME": "integration@example.com",
        "SFGW_SF_PRIVATE_KEY_FILE": str(pem),
        "SFGW_SF_AUDIENCE": "https://test.salesforce.com",
    }
    manager = _manager(PipelineSettings.from_env(env), core, client)
    manager.get()
    form = fake_sf.org.token_forms[0]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        form["assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://test.salesforce.com",
    )
    assert claims["iss"] == "3MVG9-consumer-key" and claims["sub"] == "integration@example.com"
    assert 0 < claims["exp"] - __import__("time").time() <= 300


def test_refused_token_request_is_an_auth_error(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    fake_sf.org.token_error = (400, "invalid_client")
    with pytest.raises(SalesforceAuthError, match="invalid_client") as caught:
        _manager(settings, core, client).get()
    assert "consumer-secret-value" not in str(caught.value)


def test_tokens_never_reach_logs_or_reprs(
    settings: PipelineSettings,
    core: CoreSettings,
    client: redis.Redis,
    fake_sf: FakeSalesforce,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    manager = _manager(settings, core, client)
    token = manager.get()
    manager.invalidate(token)
    again = manager.get()
    logging.getLogger("test").info("token %r %s", again, again)
    for value in (token.value, again.value):
        assert value not in caplog.text
        assert value not in repr(again) and value not in str(again)


def test_instance_url_must_be_on_the_allowlist_when_one_is_set(
    settings: PipelineSettings, core: CoreSettings, client: redis.Redis, fake_sf: FakeSalesforce
) -> None:
    strict = replace(settings.salesforce, hosts=("*.my.salesforce.com",))
    manager = TokenManager(strict, core, client, make_http_session())
    with pytest.raises(HostNotAllowed):
        manager.get()


def test_host_rules() -> None:
    hosts = ("*.my.salesforce.com", "login.example.com")
    assert host_allowed("acme.my.salesforce.com", hosts)
    assert host_allowed("LOGIN.example.com", hosts)
    assert not host_allowed("my.salesforce.com.evil.com", hosts)
    assert not host_allowed("evilmy.salesforce.com", hosts)
    assert checked_base_url(
        "https://acme.my.salesforce.com/services/Soap/u/62.0/00D", hosts, require_listed=True
    ) == ("https://acme.my.salesforce.com")
    with pytest.raises(HostNotAllowed):
        checked_base_url(
            "https://attacker.example/services/Soap/u/62.0/00D", hosts, require_listed=True
        )
    with pytest.raises(HostNotAllowed):
        checked_base_url(
            "http://acme.my.salesforce.com/x", hosts, require_listed=True
        )  # plain http
    with pytest.raises(HostNotAllowed):
        checked_base_url(
            "https://anything.example/x", (), require_listed=True
        )  # legacy needs a list
    assert (
        checked_base_url("http://127.0.0.1:8080/x", (), require_listed=False)
        == "http://127.0.0.1:8080"
    )
