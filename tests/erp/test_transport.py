"""How the ERP client's SOAP calls travel (gateway.erp over gateway.http): one urllib3
pool per ERP URL, redirects followed, a proxy only when the settings read at start-up
name one for the ERP's host, and every transport failure a retryable error that says
what happened."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
import urllib3

from devstack.mocks import RunningErp
from gateway.erp import ErpClient, ErpRetryableError, ErpSettings
from gateway.http import ProxySettings, urllib3_pool
from gateway.namespaces import ERP_ORDERS, SOAP11_ENVELOPE
from gateway.orders import OrderRequest
from gateway.settings import PROJECT_ROOT

from .conftest import ClientFactory, new_reference


class _Recording(BaseHTTPRequestHandler):
    """``/old`` answers 307 to ``/new``; ``/new`` is a CreateOrder answer; a request
    with an absolute URL (how a client talks to a proxy) is answered the same way."""

    reference: ClassVar[str] = ""
    posts: ClassVar[list[tuple[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).posts.append((self.path, self.headers.get("SOAPAction", "")))
        if self.path.endswith("/old"):
            self.send_response(307)
            self.send_header("Location", "/new")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (
            f'<e:Envelope xmlns:e="{SOAP11_ENVELOPE}"><e:Body>'
            f'<CreateOrderResponse xmlns="{ERP_ORDERS}">'
            "<OrderNumber>SO-000042</OrderNumber>"
            f"<ExternalReference>{type(self).reference}</ExternalReference>"
            "<Status>Created</Status><Created>true</Created>"
            "<CreatedAt>2026-01-01T00:00:00Z</CreatedAt>"
            "</CreateOrderResponse></e:Body></e:Envelope>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recording() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    _Recording.posts = []
    _Recording.reference = new_reference()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _client(url: str, proxies: ProxySettings) -> ErpClient:
    settings = ErpSettings.from_env(
        {"SFGW_ERP_URL": url, "SFGW_ERP_CONNECT_TIMEOUT_S": "2"},
        contracts_dir=PROJECT_ROOT / "contracts",
    )
    return ErpClient(settings, proxies)


def test_orders_are_idempotent_over_the_pool(erp: RunningErp, make_client: ClientFactory) -> None:
    client = make_client(erp.url)
    reference = new_reference()
    first = client.create_order(OrderRequest(external_reference=reference))
    again = client.create_order(OrderRequest(external_reference=reference))
    assert first.created and not again.created
    assert again.order_number == first.order_number


def test_a_redirect_is_followed_with_the_same_soap_request(recording: str) -> None:
    client = _client(f"{recording}/old", ProxySettings())
    order = client.create_order(OrderRequest(external_reference=_Recording.reference))
    assert order.order_number == "SO-000042"
    assert [path for path, _ in _Recording.posts] == ["/old", "/new"]
    assert {action for _, action in _Recording.posts} == {f'"{ERP_ORDERS}#CreateOrder"'}


def test_a_proxy_from_the_settings_carries_the_call(recording: str) -> None:
    """The recording server plays the proxy: it sees the ERP's absolute URL."""
    erp_url = "http://erp.example.test:8300/erp/orders"
    client = _client(erp_url, ProxySettings(http=recording))
    order = client.create_order(OrderRequest(external_reference=_Recording.reference))
    assert order.order_number == "SO-000042"
    assert [path for path, _ in _Recording.posts] == [erp_url]


@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({}, "http://erp.example.test/x", None),
        ({"HTTP_PROXY": "http://p:3128"}, "http://erp.example.test/x", "http://p:3128"),
        ({"https_proxy": "http://s:3128"}, "http://erp.example.test/x", None),
        ({"https_proxy": "http://s:3128"}, "https://erp.example.test/x", "http://s:3128"),
        ({"HTTP_PROXY": "http://p", "NO_PROXY": "example.test"}, "http://erp.example.test", None),
        ({"HTTP_PROXY": "http://p", "NO_PROXY": ".example.test"}, "http://erp.example.test", None),
        (
            {"HTTP_PROXY": "http://p", "NO_PROXY": "other.test"},
            "http://erp.example.test",
            "http://p",
        ),
        ({"HTTP_PROXY": "http://p", "no_proxy": "10.0.0.0/8"}, "http://10.1.2.3:80/x", None),
        ({"HTTP_PROXY": "http://p", "NO_PROXY": "*"}, "http://anything.test", None),
        ({"ALL_PROXY": "http://a"}, "https://erp.example.test", "http://a"),
    ],
)
def test_proxy_settings_are_read_once_and_chosen_per_host(
    env: dict[str, str], url: str, expected: str | None
) -> None:
    assert ProxySettings.from_env(env).proxy_for(url) == expected


def test_the_pool_goes_through_a_proxy_only_when_one_applies() -> None:
    proxies = ProxySettings(http="http://proxy.example.test:3128", no_proxy=("internal.test",))
    assert isinstance(
        urllib3_pool("http://erp.example.test/x", proxies, pool_size=1), urllib3.ProxyManager
    )
    direct = urllib3_pool("http://erp.internal.test/x", proxies, pool_size=1)
    assert not isinstance(direct, urllib3.ProxyManager)


def test_the_environment_is_not_read_per_call(
    recording: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy variable set after start-up changes nothing: the settings were read then."""
    client = _client(f"{recording}/new", ProxySettings())
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    order = client.create_order(OrderRequest(external_reference=_Recording.reference))
    assert order.order_number == "SO-000042"


def test_a_refused_connection_is_retryable_and_says_so(make_client: ClientFactory) -> None:
    client = make_client("http://127.0.0.1:9/erp/orders", connect_timeout_s=2.0)
    with pytest.raises(ErpRetryableError) as info:
        client.create_order(OrderRequest(external_reference=new_reference()))
    assert "connection refused" in info.value.reason
