"""The Falcon shell around :mod:`mock_erp.service`: routes, fault injection, admin endpoint.

Routes:

- ``POST /erp/orders`` -- the SOAP service (contracts/erp/erp_orders.wsdl).
- ``GET /erp/orders?wsdl`` -- the contract, with ``soap:address`` pointing at this server.
- ``GET|PUT /__admin/faults`` -- fault injection (JSON; loopback clients only), with the
  counters of what fired.
- ``GET /healthz`` -- process up.

Runs under gunicorn's sync worker: "commit then drop the connection" shuts the client
socket (``environ["gunicorn.socket"]``) down after the order is committed, so the caller
sees the connection closed without a response while the order exists.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import falcon
from lxml import etree

from gateway.config import env_int
from gateway.namespaces import WSDL_SOAP
from gateway.settings import CoreSettings
from gateway.soap import XML_CONTENT_TYPE, fault_envelope
from mock_erp.counters import Counters
from mock_erp.faults import (
    SETTING_NAME,
    FaultConfig,
    FaultConfigError,
    Plan,
    loads_faults,
    parse_faults,
    plan,
)
from mock_erp.service import OrderService, Reply
from mock_erp.store import BUSY_TIMEOUT_MS, OrderStore

MAX_BODY_BYTES = 1024 * 1024
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
WORKER_HEADER = "X-Mock-Erp-Worker"


def contract_path(contracts_dir: Path) -> Path:
    return contracts_dir / "erp" / "erp_orders.wsdl"


class FaultSettings:
    """Reads the shared fault configuration from the store (parsed once per change)."""

    def __init__(self, store: OrderStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._text: str | None = None
        self._config = FaultConfig()

    def current(self) -> FaultConfig:
        text = self.store.get_setting(SETTING_NAME) or "{}"
        if text != self._text:
            self._config = loads_faults(text, now=self.clock())
            self._text = text
        return self._config

    def replace(self, config: FaultConfig) -> None:
        self.store.put_setting(SETTING_NAME, config.dumps())


def wsdl_for(contract: bytes, location: str) -> bytes:
    """The contract with every ``soap:address`` pointing at ``location``."""
    root = etree.fromstring(contract, etree.XMLParser(resolve_entities=False, no_network=True))
    for address in root.iter(f"{{{WSDL_SOAP}}}address"):
        address.set("location", location)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def drop_connection(env: dict[str, Any]) -> None:
    """Close the client's connection without answering (gunicorn sync worker only)."""
    sock = env.get("gunicorn.socket")
    if not isinstance(sock, socket.socket):
        raise RuntimeError("drop_after_commit needs gunicorn's sync worker")
    sock.shutdown(socket.SHUT_RDWR)


class OrdersResource:
    def __init__(
        self,
        service: OrderService,
        faults: FaultSettings,
        contract: bytes,
        rng: random.Random,
        *,
        counters: Counters,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.service = service
        self.faults = faults
        self.counters = counters
        self.contract = contract
        self.rng = rng
        self.sleep = sleep

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if "wsdl" not in req.params and req.query_string.lower() != "wsdl":
            _send(
                resp,
                OrderService.client_fault(
                    "GET is for the contract: use ?wsdl; POST SOAP 1.1 requests here"
                ),
            )
            resp.status = falcon.HTTP_405
            return
        resp.content_type = XML_CONTENT_TYPE
        resp.data = wsdl_for(self.contract, req.prefix + req.path)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.set_header(WORKER_HEADER, str(os.getpid()))
        stream = req.bounded_stream if req.content_length is not None else req.stream
        body = stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            self.counters.bump(["requests"])
            _send(resp, OrderService.client_fault(f"request body exceeds {MAX_BODY_BYTES} bytes"))
            resp.status = falcon.HTTP_413
            return
        operation, payload, problem = self.service.operation_of(body)
        if operation is None or payload is None:
            self.counters.bump(["requests"])
            _send(resp, OrderService.client_fault(problem or "not a SOAP request"))
            return
        try:
            faults = self.faults.current()
        except FaultConfigError:
            faults = FaultConfig()
        decision: Plan = plan(faults, self.rng)
        self.counters.bump(["requests", *planned_counters(decision)])
        if decision.delay_s:
            self.sleep(decision.delay_s)
        reply, busy = self._reply(operation, payload, decision, faults)
        drop = reply.committed and decision.drop_after_commit
        slow = decision.slow_s if reply.committed else 0.0
        moved = {
            "store_busy": busy,
            "create_replayed": reply.replayed,
            "drop_after_commit": drop,
            "slow_response": slow > 0,
        }
        fired = [name for name, happened in moved.items() if happened]
        self.counters.bump(fired)  # before acting: whoever saw the effect finds it counted
        if drop:
            drop_connection(req.env)
        if slow:
            self.sleep(slow)
        _send(resp, reply)

    def _reply(
        self, operation: str, payload: etree._Element, decision: Plan, faults: FaultConfig
    ) -> tuple[Reply, bool]:
        """The answer, and whether it is "the store is busy" (beyond its timeout)."""
        if decision.error == "unavailable":
            message = "the ERP is temporarily unavailable (injected)"
            return self.service.unavailable_fault(message, 1, operation), False
        if decision.error == "http503":
            return OrderService.http_503(operation), False
        try:
            reply = self.service.handle(
                operation, payload, faults.reject_references, faults.reject_code
            )
            return reply, False
        except sqlite3.OperationalError:
            message = "the order store is busy; try again"
            return self.service.unavailable_fault(message, 1, operation), True


def planned_counters(decision: Plan) -> list[str]:
    """The counters a request's plan moves before it is processed."""
    names = ["latency"] if decision.delay_s > 0 else []
    if decision.error is not None:
        names.append(f"error_{decision.error}")
    return names


def _send(resp: falcon.Response, reply: Reply) -> None:
    resp.status = falcon.code_to_http_status(reply.status)
    resp.content_type = XML_CONTENT_TYPE
    resp.data = reply.body


class FaultsAdminResource:
    """``GET``/``PUT /__admin/faults``: the fault document every worker acts on, and
    (``fired``) what the server counted (:mod:`mock_erp.counters`)."""

    def __init__(
        self, faults: FaultSettings, counters: Counters, clock: Callable[[], float] = time.time
    ) -> None:
        self.faults = faults
        self.counters = counters
        self.clock = clock

    @staticmethod
    def _refuse_remote(req: falcon.Request) -> None:
        if req.remote_addr not in LOOPBACK:
            raise falcon.HTTPForbidden(
                title="loopback only",
                description="the fault admin endpoint answers only 127.0.0.1 and ::1",
            )

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._refuse_remote(req)
        resp.media = {
            "faults": self.faults.current().to_json(),
            "fired": self.counters.read(),
            "now": self.clock(),
        }

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        self._refuse_remote(req)
        raw = (
            req.bounded_stream.read(64 * 1024 + 1)
            if req.content_length
            else req.stream.read(64 * 1024 + 1)
        )
        try:
            doc = json.loads(raw or b"{}")
            config = parse_faults(doc, now=self.clock())
        except json.JSONDecodeError:
            raise falcon.HTTPBadRequest(
                title="bad faults", description="body is not valid JSON"
            ) from None
        except FaultConfigError as error:
            raise falcon.HTTPBadRequest(title="bad faults", description=str(error)) from None
        self.faults.replace(config)
        resp.media = {
            "faults": config.to_json(),
            "fired": self.counters.read(),
            "now": self.clock(),
        }


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


def _soap_error_handler(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any
) -> None:
    """Anything unexpected on the SOAP route is still a SOAP fault (never an HTML/JSON 500)."""
    if req.path.startswith("/erp/"):
        resp.status = falcon.HTTP_500
        resp.content_type = XML_CONTENT_TYPE
        resp.data = fault_envelope("soapenv:Server", "internal error in the mock ERP")
    else:
        resp.status = falcon.HTTP_500
        resp.media = {"title": "internal error"}


def create_app(
    db_path: Path,
    contracts_dir: Path,
    *,
    rng: random.Random | None = None,
    busy_timeout_ms: int = BUSY_TIMEOUT_MS,
) -> falcon.App[falcon.Request, falcon.Response]:
    store = OrderStore(db_path, busy_timeout_ms=busy_timeout_ms).initialise()
    faults = FaultSettings(store)
    counters = Counters(db_path)
    app = falcon.App()
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route(
        "/erp/orders",
        OrdersResource(
            OrderService(store),
            faults,
            contract_path(contracts_dir).read_bytes(),
            rng or random.Random(),
            counters=counters,
        ),
    )
    app.add_route("/__admin/faults", FaultsAdminResource(faults, counters))
    app.add_route("/healthz", HealthResource())
    app.add_error_handler(Exception, _soap_error_handler)
    return app


def create_app_from_env() -> falcon.App[falcon.Request, falcon.Response]:
    """gunicorn entry point: ``mock_erp.app:create_app_from_env()``."""
    db = os.environ.get("SFGW_ERP_DB", "erp.sqlite3")
    # How long a request waits for the store's write lock before it answers "the store is
    # busy" (UnavailableFault): 30 s, or less to make that answer quick to provoke.
    busy = env_int(os.environ, "SFGW_ERP_BUSY_TIMEOUT_MS", BUSY_TIMEOUT_MS, minimum=1)
    return create_app(Path(db), CoreSettings.from_env().contracts_dir, busy_timeout_ms=busy)
