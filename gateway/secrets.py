"""Secrets at rest and in logs.

SessionIds and OAuth tokens are encrypted with Fernet (``SFGW_SECRET_KEY``) before they
reach Redis, and :func:`redact` scrubs anything that looks like one from text that is about
to be logged or stored with a dead letter.
"""

from __future__ import annotations

import re

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypts and decrypts short secrets with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def decrypt(self, token: str) -> str | None:
        """The secret, or None when the token was made with another key or tampered with."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            return None


# A Salesforce session id / access token: 15-char org id, '!', then a long opaque tail.
_SESSION = re.compile(r"\b00D[a-zA-Z0-9]{12,15}![A-Za-z0-9._\-]{16,}")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/\-!=]{8,}")
_XML_SESSION = re.compile(r"(?is)(<(?:\w+:)?(?:SessionId|sessionId)\b[^>]*>)(.*?)(</)")
_JSON_SECRET = re.compile(
    r'(?i)("(?:access_token|client_secret|assertion|session_id|sessionId|refresh_token)"\s*:\s*")'
    r'[^"]*(")'
)

REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with session ids, bearer tokens and secret-bearing fields replaced."""
    text = _XML_SESSION.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
    text = _JSON_SECRET.sub(lambda m: m.group(1) + REDACTED + m.group(2), text)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    return _SESSION.sub(REDACTED, text)
