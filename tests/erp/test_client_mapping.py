"""How the client classifies answers the mock ERP never gives: a tiny misbehaving HTTP
server on loopback stands in for a broken ERP or a proxy in front of it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from gateway.config import ConfigError
from gateway.erp import ErpPermanentError, ErpRetryableError, ErpSettings
from gateway.namespaces import SOAP11_ENVELOPE
from gateway.orders import OrderRequest
from gateway.settings import PROJECT_ROOT
from mock_erp.cli import startup_faults

from .conftest import ClientFactory, new_reference

REF = new_reference()

ANSWERS: dict[str, tuple[int, str, bytes]] = {
    "not-xml": (200, "text/xml", b"this is not xml"),
    "html-404": (404, "text/html", b"<html><body>Not Found</body></html>"),
    "html-502": (502, "text/html", b"<html><body>Bad Gateway</body></html>"),
    "empty-500": (500, "text/xml", b""),
    "wrong-element": (
        200,
        "text/xml",
        f'<e:Envelope xmlns:e="{SOAP11_ENVELOPE}"><e:Body><x:Other xmlns:x="urn:x">1</x:Other>'
        "</e:Body></e:Envelope>".encode(),
    ),
    "other-reference": (
        200,
        "text/xml",
        f'<e:Envelope xmlns:e="{SOAP11_ENVELOPE}"><e:Body>'
        '<CreateOrderResponse xmlns="urn:example:erp:orders:v1">'
        "<OrderNumber>SO-000001</OrderNumber>"
        f"<ExternalReference>{new_reference()}</ExternalReference><Status>Created</Status>"
        "<Created>true</Created><CreatedAt>2026-01-01T00:00:00Z</CreatedAt>"
        "</CreateOrderResponse></e:Body></e:Envelope>".encode(),
    ),
    "client-fault": (
        500,
        "text/xml",
        f'<e:Envelope xmlns:e="{SOAP11_ENVELOPE}"><e:Body><e:Fault><faultcode>e:Client</faultcode>'
        "<faultstring>bad request</faultstring></e:Fault></e:Body></e:Envelope>".encode(),
    ),
}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status, content_type, body = ANSWERS[self.path.strip("/")]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def broken_erp() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("path", "expected", "needle"),
    [
        ("not-xml", ErpPermanentError, "HTTP 200"),
        ("html-404", ErpPermanentError, "HTTP 404"),
        ("html-502", ErpRetryableError, "HTTP 502"),
        ("empty-500", ErpRetryableError, "HTTP 500"),
        ("wrong-element", ErpPermanentError, "does not match the contract"),
        ("other-reference", ErpPermanentError, "answered for reference"),
        ("client-fault", ErpPermanentError, "bad request"),
    ],
)
def test_misbehaving_server_is_classified(
    broken_erp: str, make_client: ClientFactory, path: str, expected: type, needle: str
) -> None:
    client = make_client(f"{broken_erp}/{path}")
    with pytest.raises(expected) as info:
        client.create_order(OrderRequest(external_reference=REF))
    assert needle in info.value.reason
    assert info.value.retryable is (expected is ErpRetryableError)


def test_settings_from_env_name_the_bad_variable() -> None:
    contracts = PROJECT_ROOT / "contracts"
    settings = ErpSettings.from_env({}, contracts_dir=contracts)
    assert settings.url == "http://127.0.0.1:8300/erp/orders"
    assert (settings.connect_timeout_s, settings.read_timeout_s) == (5.0, 30.0)
    assert settings.contract_path.is_file()
    with pytest.raises(ConfigError, match="SFGW_ERP_READ_TIMEOUT_S"):
        ErpSettings.from_env({"SFGW_ERP_READ_TIMEOUT_S": "soon"}, contracts_dir=contracts)
    with pytest.raises(ConfigError, match="SFGW_ERP_URL"):
        ErpSettings.from_env({"SFGW_ERP_URL": "ftp://erp"}, contracts_dir=contracts)


def test_startup_faults_come_from_the_option_or_the_environment() -> None:
    env = {"SFGW_ERP_FAULTS": '{"error": {"rate": 0.5}}'}
    assert startup_faults(None, env).error_rate == 0.5
    assert startup_faults('{"error": {"rate": 0.25}}', env).error_rate == 0.25
    assert startup_faults(None, {}).error_rate == 0.0
