"""How the ERP client's SOAP requests travel: straight through one urllib3 pool.

Every order costs one ERP call, and ``requests``' per-call bookkeeping (merging session
settings and cookies, the ``.netrc`` lookup, cookie extraction, building the response)
cost about as much CPU as the call itself. The ERP call needs none of it: one fixed
URL, a POST with the envelope zeep built, the answer's status, headers and body.

:class:`DirectPost` sends that POST on a urllib3 pool of its own with what ``requests``
would have used: the session's headers (zeep's User-Agent, ``Accept-Encoding``), TLS
verification against ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` or certifi's bundle,
the connect/read timeouts, no retries; urllib3's errors become the same ``requests``
exceptions the adapter raises (``ConnectTimeout``, ``ReadTimeout``, ``ConnectionError``,
``SSLError``), so :mod:`gateway.erp` classifies them as before.

It declines (``None`` from :func:`direct_post_for`) when the environment routes the ERP
URL through a proxy or ``.netrc`` holds credentials for its host, and the caller then
uses the ``requests`` session as before; a redirect answer is also handed back to the
session (which follows it; CreateOrder is idempotent). Cookies the ERP might set are
not sent back: the order service is stateless.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict
from requests.utils import (
    DEFAULT_CA_BUNDLE_PATH,
    get_encoding_from_headers,
    get_environ_proxies,
    get_netrc_auth,
    select_proxy,
)
from urllib3 import exceptions as u3

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class DirectPost:
    """POSTs to one URL over a urllib3 pool; answers are ``requests.Response`` objects."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        headers: Mapping[str, str],
    ) -> None:
        parts = urlsplit(url)
        self.url = url
        self._path = parts.path or "/"
        if parts.query:
            self._path += "?" + parts.query
        self._headers = dict(headers)
        self._timeout = urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s)
        options: dict[str, Any] = {"maxsize": pool_size, "block": False, "retries": False}
        if parts.scheme == "https":
            bundle = ca_bundle()
            options["cert_reqs"] = "CERT_REQUIRED"
            options["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
        self._pool = urllib3.connection_from_url(url, **options)

    def post(self, message: bytes | str, headers: Mapping[str, str]) -> requests.Response:
        """One POST of ``message``; raises the ``requests`` exception the adapter would."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        try:
            raw = self._pool.urlopen(
                "POST",
                self._path,
                body=body,
                headers={**self._headers, **headers},
                redirect=False,
                assert_same_host=False,
                retries=False,
                timeout=self._timeout,
                preload_content=True,
                decode_content=True,
            )
        except Exception as error:
            mapped = as_requests_error(error)
            if mapped is error:
                raise
            raise mapped from error
        return _response(self.url, raw)

    def close(self) -> None:
        self._pool.close()


def ca_bundle() -> str:
    """Where ``requests`` looks for trusted CAs: its environment variables, else certifi."""
    return (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or DEFAULT_CA_BUNDLE_PATH
    )


def direct_post_for(
    url: str,
    session: requests.Session,
    *,
    pool_size: int,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> DirectPost | None:
    """A :class:`DirectPost` for ``url``, or None when ``requests`` would add something
    for it (a proxy from the environment, ``.netrc`` credentials)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None
    if session.trust_env:
        if select_proxy(url, get_environ_proxies(url)) is not None:
            return None
        if get_netrc_auth(url) is not None:
            return None
    if session.proxies or session.auth is not None or session.cert is not None:
        return None
    if session.verify is not True:
        return None
    return DirectPost(
        url,
        pool_size=pool_size,
        connect_timeout_s=connect_timeout_s,
        read_timeout_s=read_timeout_s,
        headers={str(k): str(v) for k, v in session.headers.items()},
    )


#: urllib3's exceptions and what ``HTTPAdapter.send`` turns them into, most specific first
#: (a NewConnectionError is also a ConnectTimeoutError; a ReadTimeoutError a PoolError).
_AS_REQUESTS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], type[Exception]], ...] = (
    (u3.NewConnectionError, requests.ConnectionError),
    (u3.ConnectTimeoutError, requests.ConnectTimeout),
    (u3.ReadTimeoutError, requests.ReadTimeout),
    (u3.SSLError, requests.exceptions.SSLError),
    ((u3.ProtocolError, u3.PoolError, OSError), requests.ConnectionError),
    (u3.LocationValueError, requests.exceptions.InvalidURL),
    (u3.DecodeError, requests.exceptions.ContentDecodingError),
    (u3.HTTPError, requests.RequestException),
)


def as_requests_error(error: Exception) -> Exception:
    """urllib3's exception as the ``requests`` exception ``HTTPAdapter.send`` raises;
    anything else unchanged."""
    for theirs, ours in _AS_REQUESTS:
        if isinstance(error, theirs):
            return ours(error)
    return error


def _response(url: str, raw: urllib3.BaseHTTPResponse) -> requests.Response:
    response = requests.Response()
    response.status_code = raw.status
    response.headers = CaseInsensitiveDict(raw.headers)
    response.reason = raw.reason or ""
    response.url = url
    response.encoding = get_encoding_from_headers(response.headers)
    response._content = raw.data
    return response
