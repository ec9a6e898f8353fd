"""The HTTP session the workers' clients (ERP, Salesforce) share per process.

A plain ``requests.Session`` looks at the environment on every request: it scans every
variable for ``*_proxy`` settings and checks ``no_proxy`` for the URL's host, about
0.25 ms of CPU per call, the largest single cost of an ERP call after the XML work.
The answer only depends on the environment (fixed for the life of a worker) and the
URL's scheme and host, so :class:`PooledSession` asks once per (scheme, host) and keeps
the answer; everything else (``REQUESTS_CA_BUNDLE``, ``.netrc``, the session's own
settings) behaves exactly as in ``requests``. No retries: retrying is the pipeline's job.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.sessions import merge_setting
from requests.utils import get_environ_proxies

#: Distinct (scheme, host, no_proxy) answers kept; a worker talks to a handful of hosts.
MAX_CACHED_HOSTS = 64


class PooledSession(requests.Session):
    """``requests.Session`` that reads the proxy environment once per scheme and host."""

    def __init__(self) -> None:
        super().__init__()
        self._env_proxies: dict[tuple[str, str, str | None], dict[str, str]] = {}

    def environment_proxies(self, url: str, no_proxy: str | None) -> dict[str, str]:
        """What ``requests.utils.get_environ_proxies`` says for ``url``, asked once."""
        parts = urlsplit(url)
        key = (parts.scheme.lower(), parts.netloc.lower(), no_proxy)
        found = self._env_proxies.get(key)
        if found is None:
            found = get_environ_proxies(url, no_proxy=no_proxy)
            if len(self._env_proxies) >= MAX_CACHED_HOSTS:
                self._env_proxies.clear()
            self._env_proxies[key] = found
        return found

    def merge_environment_settings(
        self,
        url: Any,
        proxies: Any,
        stream: Any,
        verify: Any,
        cert: Any,
    ) -> Any:  # requests' TypedDict of these four settings
        """``requests.Session.merge_environment_settings`` with the proxy lookup cached."""
        if self.trust_env:
            no_proxy = proxies.get("no_proxy") if proxies is not None else None
            env_proxies = self.environment_proxies(str(url), no_proxy)
            if proxies is not None:
                for key, value in env_proxies.items():
                    proxies.setdefault(key, value)
            if verify is True or verify is None:
                verify = (
                    os.environ.get("REQUESTS_CA_BUNDLE")
                    or os.environ.get("CURL_CA_BUNDLE")
                    or verify
                )
        merge: Any = merge_setting  # untyped in requests' stubs
        return {
            "proxies": merge(proxies, self.proxies),
            "stream": merge(stream, self.stream),
            "verify": merge(verify, self.verify),
            "cert": merge(cert, self.cert),
        }


def pooled_session(*, pool_connections: int, pool_size: int) -> PooledSession:
    """A :class:`PooledSession` with ``pool_size`` connections per host and no retries."""
    session = PooledSession()
    adapter = HTTPAdapter(pool_connections=pool_connections, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
