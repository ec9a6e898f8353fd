"""The ERP client's direct urllib3 path (gateway.erp_http): taken when nothing in the
environment changes the request, left for the requests session otherwise, and its
errors and answers are what requests would have given."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
from urllib3 import exceptions as u3

from devstack.mocks import RunningErp
from gateway.erp import ErpRetryableError, OrderRequest
from gateway.erp_http import as_requests_error, direct_post_for
from gateway.http_session import pooled_session

from .conftest import SOAP_ENV, ClientFactory, new_reference


class _Redirecting(BaseHTTPRequestHandler):
    """``/old`` answers 307 to ``/new``; ``/new`` is a CreateOrder answer for ``/ref``."""

    reference: ClassVar[str] = ""
    posts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).posts.append(self.path)
        if self.path == "/old":
            self.send_response(307)
            self.send_header("Location", "/new")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = (
            f'<e:Envelope xmlns:e="{SOAP_ENV}"><e:Body>'
            '<CreateOrderResponse xmlns="urn:example:erp:orders:v1">'
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
def redirecting() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
    _Redirecting.posts = []
    _Redirecting.reference = new_reference()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_orders_go_the_direct_way(erp: RunningErp, make_client: ClientFactory) -> None:
    client = make_client(erp.url)
    assert client._transport.direct is not None
    reference = new_reference()
    first = client.create_order(OrderRequest(external_reference=reference))
    again = client.create_order(OrderRequest(external_reference=reference))
    assert first.created and not again.created
    assert again.order_number == first.order_number


def test_a_redirect_is_followed_by_the_session(
    redirecting: str, make_client: ClientFactory
) -> None:
    client = make_client(f"{redirecting}/old")
    assert client._transport.direct is not None
    order = client.create_order(OrderRequest(external_reference=_Redirecting.reference))
    assert order.order_number == "SO-000042"
    # the direct POST got the 307, the session posted again and followed it
    assert _Redirecting.posts == ["/old", "/old", "/new"]


def test_a_proxy_or_netrc_in_the_environment_keeps_the_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = "http://erp.example.test:8300/erp/orders"
    session = pooled_session(pool_connections=1, pool_size=1)
    options = {"pool_size": 1, "connect_timeout_s": 1.0, "read_timeout_s": 1.0}
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert direct_post_for(url, session, **options) is not None

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example.test:3128")
    assert direct_post_for(url, session, **options) is None
    monkeypatch.setenv("NO_PROXY", "erp.example.test")
    assert direct_post_for(url, session, **options) is not None
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("NO_PROXY")

    netrc = tmp_path / "netrc"
    netrc.write_text("machine erp.example.test login sfgw password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert direct_post_for(url, session, **options) is None


def test_a_refused_connection_is_retryable_with_the_same_reason(
    make_client: ClientFactory,
) -> None:
    client = make_client("http://127.0.0.1:9/erp/orders", connect_timeout_s=2.0)
    with pytest.raises(ErpRetryableError) as info:
        client.create_order(OrderRequest(external_reference=new_reference()))
    assert "connection refused" in info.value.reason


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (u3.NewConnectionError(None, "refused"), requests.ConnectionError),  # type: ignore[arg-type]
        (u3.ConnectTimeoutError("slow connect"), requests.ConnectTimeout),
        (u3.ReadTimeoutError(None, "/", "slow read"), requests.ReadTimeout),  # type: ignore[arg-type]
        (u3.SSLError("bad certificate"), requests.exceptions.SSLError),
        (u3.ProtocolError("Connection aborted.", OSError("reset")), requests.ConnectionError),
        (ConnectionResetError("reset"), requests.ConnectionError),
        (u3.DecodeError("bad gzip"), requests.exceptions.ContentDecodingError),
        (u3.HeaderParsingError([], b""), requests.RequestException),
    ],
)
def test_urllib3_errors_become_what_requests_raises(
    error: Exception, expected: type[Exception]
) -> None:
    mapped = as_requests_error(error)
    assert type(mapped) is expected
    assert str(error) in str(mapped)


def test_other_errors_pass_through() -> None:
    error = ValueError("not ours")
    assert as_requests_error(error) is error
