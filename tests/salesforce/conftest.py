"""Fixtures for the mock Salesforce tests: a tiny outbound-message listener, RSA keys."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from devstack.processes import free_port
from mock_salesforce import deployment
from mock_salesforce.schema import ObjectSchema
from tests.salesforce.keys import KeyPair, make_keypair

ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    b"</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)
NACK = ACK.replace(b"<Ack>true</Ack>", b"<Ack>false</Ack>")
FAULT = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    b"<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>queue unavailable"
    b"</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)

#: path segment -> (status, content type, body); "timeout" sleeps past the attempt timeout.
MODES: dict[str, tuple[int, str, bytes]] = {
    "ack": (200, "text/xml; charset=utf-8", ACK),
    "json": (200, "application/json", b'{"ack": true}'),
    "empty": (200, "text/xml", b""),
    "nack": (200, "text/xml; charset=utf-8", NACK),
    "fault": (500, "text/xml; charset=utf-8", FAULT),
    "500": (500, "text/html", b"<html><body>Internal Server Error</body></html>"),
    "timeout": (200, "text/xml; charset=utf-8", ACK),
}


@dataclass
class Received:
    path: str
    at: float
    body: bytes


@dataclass
class Listener:
    url: str
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout_sleep: float = 3.0

    def of(self, mode: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.strip("/").split("/")[0] == mode]


@contextlib.contextmanager
def serve_listener() -> Iterator[Listener]:
    """A threaded HTTP listener on a free loopback port that answers by path (MODES)."""
    port = free_port()
    state = Listener(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.received.append(Received(self.path, time.time(), body))
            mode = self.path.strip("/").split("/")[0]
            status, content_type, reply = MODES.get(mode, MODES["500"])
            if mode == "timeout":
                time.sleep(state.timeout_sleep)
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
            except OSError:
                pass  # the sender gave up waiting (timeout mode)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    with serve_listener() as state:
        yield state


@pytest.fixture(scope="session")
def schema() -> ObjectSchema:
    """The Opportunity of the repository's org bundle (its custom fields included)."""
    return deployment.load(deployment.DEFAULT_BUNDLE).schema


@pytest.fixture(scope="session")
def keypair() -> KeyPair:
    return make_keypair()


def outbound_schema(wsdl: Path, workdir: Path) -> etree.XMLSchema:
    """One XMLSchema from the three inline schemas of an outbound-message WSDL.

    The schemas import each other by namespace only; we write each to a file, give every
    import a schemaLocation and import all three from a small driver schema.
    """
    xsd = "http://www.w3.org/2001/XMLSchema"
    root = etree.parse(str(wsdl)).getroot()
    files: dict[str, Path] = {}
    schemas = root.findall(f"{{http://schemas.xmlsoap.org/wsdl/}}types/{{{xsd}}}schema")
    for index, schema in enumerate(schemas):
        files[schema.get("targetNamespace", "")] = workdir / f"schema{index}.xsd"
    for schema in schemas:
        copy = etree.fromstring(etree.tostring(schema))
        for imp in copy.findall(f"{{{xsd}}}import"):
            imp.set("schemaLocation", files[imp.get("namespace", "")].name)
        files[schema.get("targetNamespace", "")].write_bytes(etree.tostring(copy))
    imports = "".join(
        f'<xsd:import namespace="{ns}" schemaLocation="{path.name}"/>' for ns, path in files.items()
    )
    driver = workdir / "driver.xsd"
    driver.write_text(
        f'<xsd:schema xmlns:xsd="{xsd}" targetNamespace="urn:sfgw:driver">{imports}</xsd:schema>'
    )
    return etree.XMLSchema(etree.parse(str(driver)))
