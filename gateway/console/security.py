"""Who may do what in the console: the decisions, as pure functions over headers.

* **Login.** With ``SFGW_CONSOLE_TOKEN`` set, the login form exchanges the token for a
  session; the comparison is constant-time (:func:`tokens_equal`). The session lives
  server-side (:mod:`.sessions`); the browser holds only a random id in an HttpOnly,
  SameSite=Strict cookie.
* **State changes.** Only POSTs change state (GETs never do), and a POST must come from
  a page of the console itself: its ``Sec-Fetch-Site`` is ``same-origin``, or, from a
  browser that sends no fetch metadata, its ``Origin`` is the console's own; it must
  carry the session's CSRF token; and the console must not be read-only. Anything else
  is 403. SameSite=Strict alone would not do: a page on another port of the same host is
  the same *site* and gets the cookie.
* **DNS rebinding.** A console without a login on loopback answers only requests whose
  ``Host`` is a loopback name, so a web page whose name was re-pointed at 127.0.0.1
  cannot read it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

COOKIE = "sfgw_console"
CSRF_FIELD = "csrf"
DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Session:
    """What the server keeps for one browser (never the token)."""

    csrf: str
    authenticated: bool
    flash: str = ""


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def tokens_equal(given: str, expected: str) -> bool:
    """Constant-time, also in the length: both sides are hashed first."""
    a = hashlib.sha256(given.encode()).digest()
    b = hashlib.sha256(expected.encode()).digest()
    return hmac.compare_digest(a, b)


def origin_of(scheme: str, host_header: str) -> str | None:
    """``scheme://host:port`` with the default port spelled out, or None."""
    parts = urlsplit(f"{scheme}://{host_header}")
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return f"{scheme}://{parts.hostname}:{port}"


def normalized_origin(origin: str) -> str | None:
    parts = urlsplit(origin)
    if parts.scheme not in DEFAULT_PORTS or parts.path not in ("", "/"):
        return None
    return origin_of(parts.scheme, parts.netloc)


def loopback_name(host_header: str) -> bool:
    host = urlsplit(f"http://{host_header}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_refusal(host_header: str, *, loopback_without_login: bool) -> str | None:
    """Why a request's ``Host`` is refused (DNS rebinding), or None."""
    if loopback_without_login and not loopback_name(host_header):
        return f"this console answers loopback names only, not {host_header!r}"
    return None


def post_refusal(
    headers: Mapping[str, str],
    *,
    own_origin: str | None,
    session: Session | None,
    form_csrf: str | None,
    read_only: bool,
    action: bool = True,
) -> str | None:
    """Why a POST is refused (answered 403, nothing changes), or None to let it through.

    ``headers`` with lower-case names; ``action``: a change to the pipeline (replay,
    purge) rather than logging in or out, which read-only mode still allows.
    """
    reason = origin_refusal(headers, own_origin)
    if reason is None and session is None:
        reason = "no session: reload the page"
    elif reason is None and (
        not form_csrf
        or session is None
        or not hmac.compare_digest(form_csrf.encode(), session.csrf.encode())
    ):
        reason = "missing or wrong CSRF token: reload the page"
    if reason is None and action and read_only:
        reason = "the console is read-only (SFGW_CONSOLE_READ_ONLY=true)"
    return reason


def origin_refusal(headers: Mapping[str, str], own_origin: str | None) -> str | None:
    """Why a POST does not come from one of the console's own pages, or None.

    ``Sec-Fetch-Site`` decides when the browser sends it; otherwise ``Origin`` must be
    the console's own. A request with neither is no browser form of ours.
    """
    site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    if site is not None and site != "same-origin":
        return f"cross-origin request (Sec-Fetch-Site: {site})"
    if site is None and origin is None:
        return "no Origin or Sec-Fetch-Site header: not a form of this console"
    if origin is not None and (own_origin is None or normalized_origin(origin) != own_origin):
        return f"request from another origin ({origin})"
    return None


def cookie_header(session_id: str, *, max_age: int, secure: bool) -> str:
    """The session cookie: HttpOnly, SameSite=Strict, the whole console, Secure on HTTPS."""
    flags = f"; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict"
    return f"{COOKIE}={session_id}{flags}{'; Secure' if secure else ''}"


#: On every response: no framing, no inline script, no referrer (with ids) to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make the forms' Origin "null"
    "Cache-Control": "no-store",
}
