"""The OAuth 2.0 token endpoint's decisions (pure): client credentials and JWT bearer.

Error shapes are Salesforce's: HTTP 400 with ``{"error": ..., "error_description": ...}``.
The client credentials may come in the body (``client_id``, ``client_secret``) or as HTTP
Basic (``Authorization: Basic base64(id:secret)``, RFC 6749 2.3.1), which is how
simple-salesforce sends them. A client-credentials response is signed as Salesforce
documents: ``signature`` is the Base64 HMAC-SHA256 of ``id`` + ``issued_at`` keyed with
the consumer secret.
The JWT is verified as Salesforce documents: RS256 signature against the connected app's
certificate, ``iss`` = consumer key, ``sub`` = the pre-authorised username, ``aud`` = the
login URL, ``exp`` not passed (about 3 minutes of clock skew allowed).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLOCK_SKEW = 180


class OAuthError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


def load_public_key(pem: bytes) -> RSAPublicKey:
    """An RSA public key from a PEM certificate or a PEM public key."""
    if b"BEGIN CERTIFICATE" in pem:
        key: Any = x509.load_pem_x509_certificate(pem).public_key()
    else:
        key = serialization.load_pem_public_key(pem)
    if not isinstance(key, RSAPublicKey):
        raise ValueError("the JWT certificate must hold an RSA key (RS256)")
    return key


@dataclass(frozen=True)
class OAuthConfig:
    client_id: str
    client_secret: str
    username: str
    login_url: str
    public_key: RSAPublicKey | None

    @classmethod
    def build(
        cls, client_id: str, client_secret: str, username: str, login_url: str, cert: Path | None
    ) -> OAuthConfig:
        key = load_public_key(cert.read_bytes()) if cert is not None else None
        return cls(client_id, client_secret, username, login_url, key)


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(client id, secret) of an ``Authorization: Basic`` header; None when there is none.
    Both parts are form-encoded before Base64 (RFC 6749 2.3.1), so they are decoded."""
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "invalid client credentials") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "invalid client credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def signature(identity: str, issued_at: str, secret: str) -> str:
    """Salesforce's token signature: Base64 HMAC-SHA256 of ``id + issued_at``."""
    digest = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_grant(form: Mapping[str, str], config: OAuthConfig, now: float) -> str:
    """Accept or refuse a token request; returns the grant type that succeeded."""
    grant = form.get("grant_type", "")
    if grant == "client_credentials":
        client_id = form.get("client_id", "")
        secret = form.get("client_secret", "")
        if not client_id or not hmac.compare_digest(client_id.encode(), config.client_id.encode()):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret.encode(), config.client_secret.encode()):
            raise OAuthError("invalid_client", "invalid client credentials")
        return grant
    if grant == JWT_GRANT:
        verify_assertion(form.get("assertion", ""), config, now)
        return grant
    if not grant:
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    raise OAuthError("unsupported_grant_type", "grant type not supported")


def verify_assertion(assertion: str, config: OAuthConfig, now: float) -> None:
    if config.public_key is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if header.get("alg") != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    if unverified.get("iss") != config.client_id:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    try:
        claims = jwt.decode(
            assertion,
            config.public_key,
            algorithms=["RS256"],
            options={
                "require": ["exp", "iss", "sub", "aud"],
                "verify_exp": False,
                "verify_aud": False,
            },
        )
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.login_url.rstrip("/") not in [str(a).rstrip("/") for a in audiences]:
        raise OAuthError("invalid_grant", "audience is invalid")
    try:
        expires = float(claims["exp"])
    except (TypeError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if expires + CLOCK_SKEW < now:
        raise OAuthError("invalid_grant", "expired authorization code")
    if claims.get("sub") != config.username:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
