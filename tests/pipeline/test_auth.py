"""The OAuth token manager against the mock org's token endpoint (a real process).

The org proves what it received by answering (a wrong secret, a bad assertion or a
wrong audience is refused); the form the manager sent is also kept on the caller's side
(:class:`RecordingSession`, a real HTTP session) to check the claims it signed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import jwt
import pytest
import redis
import requests
from cryptography import x509

from devstack.mocks import RunningSalesforce
from gateway.http import ExplicitProxySession, ProxySettings
from gateway.salesforce.auth import TokenManager, checked_base_url, host_allowed
from gateway.salesforce.errors import HostNotAllowed, SalesforceAuthError
from gateway.salesforce.settings import SalesforceSettings
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings
from tests.pipeline.conftest import AUDIENCE, CLIENT_ID, USERNAME
from tests.salesforce.keys import KeyPair

pytestmark = pytest.mark.slow


class RecordingSession(ExplicitProxySession):
    """A real HTTP session that keeps the form of every token request it sends."""

    def __init__(self) -> None:
        super().__init__(ProxySettings())
        self.token_forms: list[dict[str, str]] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if str(url).endswith("/services/oauth2/token"):
            self.token_forms.append(dict(kwargs.get("data") or {}))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def sf_settings(sf_env: dict[str, str]) -> SalesforceSettings:
    return SalesforceSettings.from_env(sf_env)


def _manager(
    settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    http: requests.Session | None = None,
) -> TokenManager:
    box = SecretBox(core.require_secret_key())
    return TokenManager(settings, core, client, http or RecordingSession(), box=box)


def token_requests(sf: RunningSalesforce) -> int:
    return int(sf.api_usage()["token_requests"])


def test_token_is_cached_encrypted_and_shared(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    before = token_requests(mock_sf)
    http = RecordingSession()
    token = _manager(sf_settings, core, client, http).get()
    assert token.instance_url == mock_sf.url
    assert token.org_id == mock_sf.org_id
    # another process (its own manager and HTTP session) reuses it
    assert _manager(sf_settings, core, client).get().value == token.value
    assert token_requests(mock_sf) == before + 1
    [form] = http.token_forms
    assert form["grant_type"] == "client_credentials" and form["client_id"] == CLIENT_ID
    limits = requests.get(
        f"{token.instance_url}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {token.value}"},
        timeout=30,
    )
    assert limits.status_code == 200  # a token the org itself accepts
    stored = b"".join(
        client.get(k) or b"" for k in client.scan_iter(match=f"{core.redis_prefix}:sf:token:*")
    )
    assert stored and token.value.encode() not in stored


def test_one_refresh_for_many_concurrent_callers(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    before = token_requests(mock_sf)
    managers = [_manager(sf_settings, core, client) for _ in range(8)]
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
    assert token_requests(mock_sf) == before + 1


def test_invalidate_replaces_only_the_rejected_token(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    before = token_requests(mock_sf)
    a, b = _manager(sf_settings, core, client), _manager(sf_settings, core, client)
    old = a.get()
    a.invalidate(old)
    new = a.get()
    assert new.value != old.value and token_requests(mock_sf) == before + 2
    b.invalidate(old)  # a late caller with the old token must not throw the new one away
    assert b.get().value == new.value
    assert token_requests(mock_sf) == before + 2


def test_a_token_is_decrypted_once_yet_read_from_redis_each_time(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    manager = _manager(sf_settings, core, client)
    decrypted: list[str] = []
    box = manager._box
    real = box.decrypt

    def counting(token: str) -> str | None:
        decrypted.append(token)
        return real(token)

    box.decrypt = counting  # type: ignore[method-assign]
    other = _manager(sf_settings, core, client)
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


@pytest.fixture
def jwt_env(sf_env: dict[str, str], jwt_keys: KeyPair, tmp_path: Path) -> dict[str, str]:
    """The JWT bearer flow with the key whose certificate the org trusts."""
    pem = tmp_path / "server.key"
    pem.write_bytes(jwt_keys.private_pem)
    return {
        **sf_env,
        "SFGW_SF_AUTH": "jwt_bearer",
        "SFGW_SF_USERNAME": USERNAME,
        "SFGW_SF_PRIVATE_KEY_FILE": str(pem),
        "SFGW_SF_AUDIENCE": AUDIENCE,
    }


def test_jwt_bearer_signs_the_documented_claims(
    jwt_env: dict[str, str],
    jwt_keys: KeyPair,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    env = jwt_env
    http = RecordingSession()
    token = _manager(SalesforceSettings.from_env(env), core, client, http).get()
    # the org verified the signature against its certificate, and iss, sub, aud and exp
    assert token.org_id == mock_sf.org_id
    [form] = http.token_forms
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    public_key = x509.load_pem_x509_certificate(jwt_keys.cert_pem).public_key()
    claims = jwt.decode(
        form["assertion"],
        public_key,
        algorithms=["RS256"],
        audience=AUDIENCE,
    )
    assert claims["iss"] == CLIENT_ID and claims["sub"] == USERNAME
    assert 0 < claims["exp"] - time.time() <= 300  # Salesforce takes at most about 3 min


def test_refused_token_request_is_an_auth_error(
    sf_env: dict[str, str], core: CoreSettings, client: redis.Redis, mock_sf: RunningSalesforce
) -> None:
    wrong = SalesforceSettings.from_env({**sf_env, "SFGW_SF_CLIENT_SECRET": "wrong-secret-value"})
    before = token_requests(mock_sf)
    with pytest.raises(SalesforceAuthError, match="invalid_client") as caught:
        _manager(wrong, core, client).get()
    assert "wrong-secret-value" not in str(caught.value)
    assert token_requests(mock_sf) == before + 1  # the org refused it (HTTP 400)


def test_tokens_never_reach_logs_or_reprs(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    manager = _manager(sf_settings, core, client)
    token = manager.get()
    manager.invalidate(token)
    again = manager.get()
    logging.getLogger("test").info("token %r %s", again, again)
    for value in (token.value, again.value):
        assert value not in caplog.text
        assert value not in repr(again) and value not in str(again)


def test_instance_url_must_be_on_the_allowlist_when_one_is_set(
    sf_settings: SalesforceSettings,
    core: CoreSettings,
    client: redis.Redis,
    mock_sf: RunningSalesforce,
) -> None:
    strict = replace(sf_settings, hosts=("*.my.salesforce.com",))
    before = token_requests(mock_sf)
    with pytest.raises(HostNotAllowed):
        _manager(strict, core, client).get()
    assert token_requests(mock_sf) == before + 1  # granted, then refused for its host
    assert list(client.scan_iter(match=f"{core.redis_prefix}:sf:token:*")) == []  # not kept


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
