"""Pooled HTTP for the workers' clients, with the proxy settings read once, explicitly.

``requests`` looks at the environment on every call (every ``*_proxy`` variable, the
``no_proxy`` list for the URL's host, ``.netrc``, the CA bundle variables): a quarter of a
millisecond of CPU per call, and a behaviour that changes when someone edits a worker's
environment mid-flight. sfgw reads the standard variables once, at start-up, into
:class:`ProxySettings`, and passes them on explicitly:

* :func:`requests_session` (Salesforce REST, zeep's SOAP transport, token requests): a
  session with ``trust_env`` off, the proxy for each URL chosen from the settings, the CA
  bundle from the settings, and no retries of its own (retrying is the pipeline's job);
* :func:`urllib3_pool` (the ERP, one call per order): a connection pool for one URL,
  through the proxy when one applies to its host.

``.netrc`` is not read: credentials for the ERP or Salesforce come from sfgw's settings.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH

from gateway.config import Env


@dataclass(frozen=True)
class ProxySettings:
    """``HTTP_PROXY``, ``HTTPS_PROXY``, ``NO_PROXY`` (either case) and the CA bundle that
    ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` names (certifi's otherwise)."""

    http: str | None = None
    https: str | None = None
    no_proxy: tuple[str, ...] = ()
    ca_bundle: str = DEFAULT_CA_BUNDLE_PATH

    @classmethod
    def from_env(cls, env: Env | None = None) -> ProxySettings:
        env = os.environ if env is None else env

        def first(*names: str) -> str | None:
            return next((env[n].strip() for n in names if env.get(n, "").strip()), None)

        no_proxy = first("NO_PROXY", "no_proxy") or ""
        return cls(
            http=first("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"),
            https=first("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"),
            no_proxy=tuple(h.strip().lower() for h in no_proxy.split(",") if h.strip()),
            ca_bundle=first("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE") or DEFAULT_CA_BUNDLE_PATH,
        )

    def proxy_for(self, url: str) -> str | None:
        """The proxy to reach ``url`` through, or ``None`` (direct)."""
        parts = urlsplit(url)
        proxy = self.https if parts.scheme == "https" else self.http
        if proxy is None or self.bypasses(parts.hostname or ""):
            return None
        return proxy

    def bypasses(self, host: str) -> bool:
        """``NO_PROXY`` as curl and requests read it: ``*``, a host or domain suffix
        (``.example.com`` or ``example.com``), an IP address or a CIDR network."""
        host = host.lower().rstrip(".")
        for raw in self.no_proxy:
            entry = raw.lstrip(".")
            if entry in ("*", host) or host.endswith("." + entry):
                return True
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        return False


class ExplicitProxySession(requests.Session):
    """A ``requests`` session that never reads the environment; each request goes
    through the proxy :class:`ProxySettings` chooses for its URL."""

    def __init__(self, proxies: ProxySettings) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = proxies.ca_bundle
        self._proxy_settings = proxies

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("proxies") is None:
            proxy = self._proxy_settings.proxy_for(str(url))
            kwargs["proxies"] = {} if proxy is None else {"http": proxy, "https": proxy}
        return super().request(method, url, *args, **kwargs)


def requests_session(proxies: ProxySettings, *, pool_size: int) -> requests.Session:
    """A pooled :class:`ExplicitProxySession` without retries."""
    session = ExplicitProxySession(proxies)
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def urllib3_pool(
    url: str, proxies: ProxySettings, *, pool_size: int, headers: Mapping[str, str] | None = None
) -> urllib3.PoolManager:
    """A pool for requests to ``url``'s host (through its proxy, if any), verifying TLS
    against the configured CA bundle, without retries."""
    options: dict[str, Any] = {
        "maxsize": pool_size,
        "block": False,
        "retries": False,
        "headers": dict(headers or {}),
    }
    if urlsplit(url).scheme == "https":
        bundle = proxies.ca_bundle
        options["cert_reqs"] = "CERT_REQUIRED"
        options["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    proxy = proxies.proxy_for(url)
    if proxy is not None:
        return urllib3.ProxyManager(proxy, num_pools=1, **options)
    return urllib3.PoolManager(num_pools=1, **options)
