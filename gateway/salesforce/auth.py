"""Credentials for calling Salesforce back: one OAuth token shared by every worker.

Salesforce counts token requests against login rate limits and a token lives for hours,
so workers share one: it is cached in Redis, encrypted with ``SFGW_SECRET_KEY`` (a Redis
dump never holds a usable token), and refreshed by one caller at a time under a Redis
lock with a timeout (redis-py's ``Lock``); the others watch the cache meanwhile and use
the new token as soon as it is there. When Salesforce answers
``INVALID_SESSION_ID`` the caller invalidates exactly the token it used (a token some
other worker already replaced stays) and asks again, so a mass expiry costs one token
request, not one per thread.

The host calls go to comes from the token response's ``instance_url`` (the login host
the operator configured answered it) or, for the legacy SessionId, from the message's
PartnerUrl, which is only trusted when its host is on ``SFGW_SALESFORCE_HOSTS``.
Token values never appear in ``repr``, logs or exceptions.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import jwt
import redis
import requests
from redis.exceptions import LockError

from gateway.salesforce import metrics
from gateway.salesforce.errors import HostNotAllowed, SalesforceAuthError, SalesforceError
from gateway.salesforce.settings import SalesforceSettings
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_S = 180  # Salesforce accepts up to ~3 minutes ahead

#: Delete a key only if it still holds the value we know (the token we used).
_COMPARE_AND_DELETE = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class AccessToken:
    """A bearer credential and the base URL it is valid for."""

    value: str = field(repr=False)
    instance_url: str
    source: Literal["oauth", "session_id"] = "oauth"
    org_id: str | None = None
    cache_blob: str | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return f"<{self.source} token for {self.instance_url}>"


def host_allowed(host: str, patterns: tuple[str, ...]) -> bool:
    """``acme.my.salesforce.com`` matches itself and ``*.my.salesforce.com``."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_base_url(url: str, allowlist: tuple[str, ...], *, require_listed: bool) -> str:
    """``scheme://host[:port]`` of ``url`` if we may send credentials there.

    HTTPS is required except on loopback (the mock Salesforce in tests and the demo).
    With ``require_listed`` (a URL taken from a message) the host must be on the
    allowlist; otherwise (the token's instance_url) only when an allowlist is set.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.scheme not in ("https", "http"):
        raise HostNotAllowed(host or url[:80])
    if parts.scheme == "http" and not _is_loopback(host):
        raise HostNotAllowed(f"{host} (plain http)")
    if (require_listed or allowlist) and not host_allowed(host, allowlist):
        raise HostNotAllowed(host)
    return f"{parts.scheme}://{parts.netloc}"


class TokenManager:
    """Gets, caches, shares and refreshes the OAuth access token."""

    def __init__(
        self,
        settings: SalesforceSettings,
        core: CoreSettings,
        client: redis.Redis,
        http: requests.Session,
        *,
        box: SecretBox,
    ) -> None:
        self._settings = settings
        self._client = client
        self._http = http
        self._box = box
        identity = "|".join(
            [
                settings.login_url,
                settings.auth_flow,
                settings.client_id or "",
                settings.username or "",
            ]
        )
        fingerprint = hashlib.sha256(identity.encode()).hexdigest()[:16]
        self._key = core.key("sf", "token", fingerprint)
        self._lock_key = self._key + ":lock"
        self._compare_and_delete = client.register_script(_COMPARE_AND_DELETE)
        self.token_requests = 0  # in this process; also exported as a metric
        # The shared token is still read from Redis on every call (another worker may
        # have replaced or dropped it); only its decryption is kept, per ciphertext.
        self._last_read: tuple[str, AccessToken] | None = None

    # -- public API -----------------------------------------------------------------

    def get(self) -> AccessToken:
        """The shared token, fetching one if nobody has."""
        cached = self._read()
        if cached is not None:
            return cached
        return self._refresh()

    def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` (it was rejected) unless it was already replaced."""
        if token.cache_blob is None:
            return
        self._compare_and_delete(keys=[self._key], args=[token.cache_blob])

    def from_message(self, encrypted: str | None, partner_url: str) -> AccessToken | None:
        """The legacy credential of one message, when that mode is on and the message
        carried a SessionId: decrypted here and only here, for its PartnerUrl's host."""
        if not self._settings.use_session_id or not encrypted or not partner_url:
            return None
        session_id = self._box.decrypt(encrypted)
        return None if session_id is None else self.session_token(session_id, partner_url)

    def session_token(self, session_id: str, partner_url: str) -> AccessToken:
        """The legacy credential: a message's (decrypted) SessionId for its PartnerUrl host."""
        base = checked_base_url(partner_url, self._settings.hosts, require_listed=True)
        return AccessToken(value=session_id, instance_url=base, source="session_id")

    # -- internals ------------------------------------------------------------------

    def _read(self) -> AccessToken | None:
        blob = self._client.get(self._key)
        if blob is None:
            return None
        text = blob.decode() if isinstance(blob, bytes) else str(blob)
        last = self._last_read
        if last is not None and last[0] == text:  # the same ciphertext: decrypted before
            return last[1]
        plain = self._box.decrypt(text)
        if plain is None:  # another SFGW_SECRET_KEY wrote it: ignore, it will be replaced
            return None
        data = json.loads(plain)
        token = AccessToken(
            value=data["access_token"],
            instance_url=data["instance_url"],
            org_id=data.get("org_id"),
            cache_blob=text,
        )
        self._last_read = (text, token)
        return token

    def _refresh(self) -> AccessToken:
        """Fetch a token under the shared lock; whoever waits for it takes that token.

        Waiters try the lock without blocking and look at the cache between tries, so
        once the holder has stored the new token every waiter uses it at once, rather
        than each taking the lock in turn just to read it. The lock expires after
        ``SFGW_SF_TOKEN_LOCK_S`` (a holder that died does not block the others for
        longer); a waiter gives up after twice that plus one call.
        """
        lock = self._client.lock(self._lock_key, timeout=self._settings.token_lock_s)
        deadline = time.monotonic() + 2 * self._settings.token_lock_s + self._settings.timeout_s
        while not lock.acquire(blocking=False):
            cached = self._read()
            if cached is not None:
                return cached
            if time.monotonic() >= deadline:
                raise SalesforceError(
                    "TIMEOUT", "waited too long for another worker to refresh the token"
                )
            time.sleep(0.05)
        try:
            cached = self._read()  # someone may have finished just before we took it
            if cached is not None:
                return cached
            return self._fetch_and_store()
        finally:
            with contextlib.suppress(LockError):  # expired meanwhile: nothing to release
                lock.release()

    def _fetch_and_store(self) -> AccessToken:
        data = self._request_token()
        access = data.get("access_token")
        instance = data.get("instance_url")
        if not isinstance(access, str) or not access or not isinstance(instance, str):
            raise SalesforceAuthError(
                "INVALID_TOKEN_RESPONSE", "token response lacks access_token or instance_url"
            )
        base = checked_base_url(instance, self._settings.hosts, require_listed=False)
        org_id = _org_from_identity(data.get("id"))
        record = {"access_token": access, "instance_url": base, "org_id": org_id}
        blob = self._box.encrypt(json.dumps(record))
        self._client.set(self._key, blob, ex=self._settings.token_cache_s)
        return AccessToken(value=access, instance_url=base, org_id=org_id, cache_blob=blob)

    def _request_token(self) -> dict[str, Any]:
        s = self._settings
        if s.client_id is None:
            raise SalesforceError(
                "NO_CREDENTIAL",
                "no OAuth credential configured (set SFGW_SF_CLIENT_ID and its secret or key)",
            )
        if s.auth_flow == "jwt_bearer":
            form = {"grant_type": JWT_GRANT, "assertion": self._assertion()}
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": s.client_id,
                "client_secret": s.client_secret or "",
            }
        url = f"{s.login_url}/services/oauth2/token"
        self.token_requests += 1
        metrics.TOKEN_REQUESTS.inc()
        try:
            response = self._http.post(url, data=form, timeout=s.timeout_s)
        except requests.Timeout:
            raise SalesforceError("TIMEOUT", "token request timed out") from None
        except requests.ConnectionError:
            raise SalesforceError("CONNECTION", f"cannot reach {s.login_url}") from None
        if response.status_code != 200:
            code, message = _oauth_error(response)
            raise SalesforceAuthError(
                code, f"token request refused: {message}", status=response.status_code
            )
        try:
            data = response.json()
        except ValueError:
            raise SalesforceAuthError(
                "INVALID_TOKEN_RESPONSE", "token response is not JSON"
            ) from None
        if not isinstance(data, dict):
            raise SalesforceAuthError("INVALID_TOKEN_RESPONSE", "token response is not an object")
        return data

    def _assertion(self) -> str:
        s = self._settings
        if s.private_key_file is None:  # SalesforceSettings checks this at start-up
            raise SalesforceAuthError("NO_CREDENTIAL", "SFGW_SF_PRIVATE_KEY_FILE is not set")
        now = int(time.time())
        claims = {
            "iss": s.client_id,
            "sub": s.username,
            "aud": s.audience,
            "exp": now + JWT_LIFETIME_S,
        }
        key = s.private_key_file.read_bytes()
        return jwt.encode(claims, key, algorithm="RS256")


def _oauth_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", f"HTTP {response.status_code}"
    if isinstance(body, dict):
        code = str(body.get("error") or f"HTTP_{response.status_code}")
        return code, f"{code}: {body.get('error_description', '')}"
    return f"HTTP_{response.status_code}", f"HTTP {response.status_code}"


def _org_from_identity(identity: object) -> str | None:
    """``https://login.salesforce.com/id/00D.../005...`` -> the org id."""
    if not isinstance(identity, str):
        return None
    parts = urlsplit(identity).path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "id" and parts[1].startswith("00D"):
        return parts[1]
    return None


def cached_tokens(client: redis.Redis, core: CoreSettings) -> list[tuple[str, int]]:
    """(credential fingerprint, seconds until it expires) of each OAuth token the workers
    share in Redis, read without decrypting anything (``sfgw console`` shows it)."""
    prefix = core.key("sf", "token", "")
    found = []
    for raw in client.scan_iter(match=prefix + "*", count=100):
        key = raw.decode() if isinstance(raw, bytes) else str(raw)
        if key.endswith(":lock"):
            continue
        found.append((key.removeprefix(prefix), int(client.ttl(key))))
    return sorted(found)
