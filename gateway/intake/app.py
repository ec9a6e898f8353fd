"""The Falcon application: routes, the SOAP-only error contract, and the request shell.

The shell is deliberately thin: read the body (with a size cap, chunked included),
parse it safely (:mod:`gateway.soap`), bind it with the route's contract, ask the pure
:func:`~gateway.intake.validate.validate_notifications` what to do, enqueue atomically
(:mod:`gateway.intake.enqueue`) and only then acknowledge. Every way out of a SOAP route
that is not an Ack is a SOAP 1.1 Fault with HTTP 500 and ``text/xml`` -- SOAP 1.1 section
6.2 asks for 500 on every fault, and Salesforce retries on any non-Ack anyway, so one rule
(even for oversize bodies and refused addresses) keeps the reply contract simple.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import falcon

from gateway.bindings.binder import BindingError, ContractBinder
from gateway.bindings.outbound import OutboundBindings, load_all, use_generated_dir
from gateway.contracts import OUTBOUND_ROUTE_PREFIX, outbound_contracts
from gateway.intake.enqueue import DurableQueue, EnqueueError
from gateway.intake.logs import ACCESS_LOGGER
from gateway.intake.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from gateway.intake.metrics import IntakeMetrics
from gateway.intake.network import client_address, is_allowed
from gateway.intake.settings import IntakeSettings
from gateway.intake.validate import (
    ContractSpec,
    Rejection,
    Rules,
    read_records,
    validate_notifications,
)
from gateway.namespaces import OUTBOUND_MESSAGE
from gateway.routes import Route
from gateway.secrets import SecretBox
from gateway.soap import (
    XML_CONTENT_TYPE,
    SoapParseError,
    fault_envelope,
    parse_envelope,
    parse_xml,
)

#: ``POST /salesforce/outbound/<contract>`` (defined with the contracts: the org bundle's
#: outbound messages post to the same paths).
SOAP_ROUTE_PREFIX = OUTBOUND_ROUTE_PREFIX
ACK = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soapenv:Body>"
    b'<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
    b"<Ack>true</Ack></notificationsResponse>"
    b"</soapenv:Body></soapenv:Envelope>"
)
#: After refusing an oversize body we still read (and discard) up to this much of it, so
#: the client gets to read our fault instead of a connection reset mid-upload.
DRAIN_LIMIT = 32 * 1024 * 1024
_CHUNK = 64 * 1024

log = logging.getLogger(ACCESS_LOGGER)


class SoapFault(Exception):
    """Answer with a SOAP Fault. ``reason`` is a fixed metrics label, ``message`` the
    ``faultstring`` (safe to show the caller)."""

    def __init__(self, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message


def client_fault(reason: str, message: str) -> SoapFault:
    return SoapFault("soapenv:Client", reason, message)


@dataclass
class RequestInfo:
    """What the access log line says about one request (filled in as it progresses)."""

    request_id: str
    started: float
    contract: str | None = None
    org: str | None = None
    action: str | None = None
    count: int | None = None
    duplicates: int | None = None
    outcome: str = "other"
    reason: str | None = None
    body_bytes: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """Everything one outbound-message route needs, built once at start-up."""

    bindings: OutboundBindings
    spec: ContractSpec
    route: Route
    wsdl: bytes

    @property
    def binder(self) -> ContractBinder:
        return self.bindings.binder

    @property
    def notifications_cls(self) -> type[Any]:
        return self.bindings.notifications_class


def build_endpoints(settings: IntakeSettings) -> dict[str, Endpoint]:
    """One endpoint per outbound-message contract; any contract that cannot be served
    stops start-up with a :class:`ContractError` naming its file and the fix."""
    use_generated_dir(settings.core.generated_dir)
    contracts = outbound_contracts(settings.core.contracts_dir)
    settings.check_routes([c.name for c in contracts])
    endpoints: dict[str, Endpoint] = {}
    for name, bindings in load_all(contracts).items():
        endpoints[name] = Endpoint(
            bindings=bindings,
            spec=ContractSpec.from_shape(name, bindings.shape, bindings.object_class),
            route=settings.route_for(name, bindings.shape.object_name),
            wsdl=Path(bindings.contract.path).read_bytes(),
        )
    return endpoints


def warm_up(endpoints: dict[str, Endpoint]) -> None:
    """Bind one tiny message per contract at worker start.

    xsdata builds its class metadata lazily; without this the first delivery a worker
    handles takes ~100 ms longer. Failures are ignored: a real request will report them.
    """
    for name, endpoint in endpoints.items():
        xml = (
            f'<notifications xmlns="{OUTBOUND_MESSAGE}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<OrganizationId>00D000000000001AAA</OrganizationId>"
            '<ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>'
            "<EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl>"
            "<Notification><Id>04l000000000001AAA</Id><sObject "
            f'xmlns:sf="{endpoint.bindings.shape.object_namespace}" '
            f'xsi:type="sf:{endpoint.spec.object_name}"><sf:Id>006000000000001AAA</sf:Id>'
            "</sObject></Notification></notifications>"
        ).encode()
        try:
            endpoint.binder.bind(parse_xml(xml), endpoint.notifications_cls)
        except (BindingError, SoapParseError):  # pragma: no cover - contract-specific
            log.debug("warm-up binding failed for %s", name)


def read_body(req: falcon.Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes; chunked bodies included.

    Falcon's ``bounded_stream`` reads nothing when there is no Content-Length (chunked),
    and gunicorn has no body limit of its own, so both cases are capped here.
    """
    length = req.content_length
    if length is not None and length > limit:
        _drain(req.bounded_stream, length)
        raise client_fault("too_large", f"request body exceeds the limit of {limit} bytes")
    if length is None:
        data: bytes = req.stream.read(limit + 1)
        if len(data) > limit:
            _drain(req.stream, DRAIN_LIMIT)
            raise client_fault("too_large", f"request body exceeds the limit of {limit} bytes")
        return data
    return req.bounded_stream.read()


def _drain(stream: Any, limit: int) -> None:
    remaining = min(limit, DRAIN_LIMIT)
    while remaining > 0:
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            return
        remaining -= len(chunk)


class OutboundResource:
    """``POST`` a notifications message; ``GET ?wsdl`` the contract."""

    def __init__(
        self,
        endpoints: dict[str, Endpoint],
        settings: IntakeSettings,
        queue: DurableQueue,
        metrics: IntakeMetrics,
    ) -> None:
        self._endpoints = endpoints
        self._settings = settings
        self._queue = queue
        self._metrics = metrics
        self._rules = Rules(settings.allowed_orgs, settings.allowed_actions)
        key = settings.core.secret_key
        self._box = SecretBox(key) if key is not None else None

    def _endpoint(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise client_fault("unknown_contract", "no outbound-message contract at this URL")
        return endpoint

    def _seal(self, session_id: str) -> str | None:
        if self._box is None:
            # No key: never store it in plaintext. Callbacks use OAuth (SessionIds are
            # gone from Salesforce since Feb 2026), so dropping it loses nothing needed.
            self._metrics.session_ids_dropped.inc()
            return None
        return self._box.encrypt(session_id)

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        endpoint = self._endpoint(name)
        if req.query_string.lower().split("&")[0] not in ("wsdl", "wsdl="):
            raise client_fault("bad_method", "use POST for notifications, or GET ?wsdl")
        req.context.info.outcome = "wsdl"
        resp.content_type = XML_CONTENT_TYPE
        resp.data = endpoint.wsdl

    def on_post(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        info: RequestInfo = req.context.info
        endpoint = self._endpoint(name)
        info.contract = name
        body = read_body(req, self._settings.max_body_bytes)
        info.body_bytes = len(body)
        self._metrics.message_bytes.labels(name).observe(len(body))
        content_type = (req.content_type or "").lower()
        if content_type and "xml" not in content_type:
            raise client_fault("bad_content_type", "Content-Type must be text/xml (SOAP 1.1)")
        try:
            envelope = parse_envelope(body)
        except SoapParseError as error:
            raise client_fault("bad_xml", str(error)) from None
        payload = envelope.payload
        if payload.tag != f"{{{OUTBOUND_MESSAGE}}}notifications":
            raise client_fault(
                "wrong_namespace",
                f"SOAP Body must hold notifications in namespace {OUTBOUND_MESSAGE}",
            )
        # Read the records as sent first: binding consumes (clears) the element tree.
        records = read_records(payload)
        try:
            bound = endpoint.binder.bind(payload, endpoint.notifications_cls)
        except BindingError as error:
            raise client_fault(
                "not_contract",
                f"message does not match contract {name}: {error}",
            ) from None
        info.count = len(bound.notification)
        result = validate_notifications(
            bound,
            records,
            endpoint.spec,
            self._rules,
            received_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            seal=self._seal,
        )
        if isinstance(result, Rejection):
            raise client_fault(result.code, result.reason)
        info.org = result[0].organization_id[:15]
        info.action = result[0].action_id[:15]
        try:
            enqueued = self._queue.enqueue(result, endpoint.route)
        except EnqueueError as error:
            info.extra["error"] = str(error)
            raise SoapFault(
                "soapenv:Server", "queue_unavailable", "the queue is unavailable; retry later"
            ) from None
        info.duplicates = enqueued.duplicates
        info.outcome = "acked"
        self._metrics.notifications.labels(name, "new").inc(enqueued.added)
        if enqueued.duplicates:
            self._metrics.notifications.labels(name, "duplicate").inc(enqueued.duplicates)
        self._metrics.ack_latency.labels(name).observe(time.perf_counter() - info.started)
        resp.status = falcon.HTTP_200
        resp.content_type = XML_CONTENT_TYPE
        resp.data = ACK


class HealthResource:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "ok\n"


class ReadyResource:
    def __init__(self, queue: DurableQueue) -> None:
        self._queue = queue

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        if self._queue.ready():
            resp.text = "ready\n"
        else:
            resp.status = falcon.HTTP_503
            resp.text = "not ready: Redis does not answer\n"


class MetricsResource:
    def __init__(self, metrics: IntakeMetrics) -> None:
        self._metrics = metrics

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = METRICS_CONTENT_TYPE
        resp.data = self._metrics.render()


class RequestMiddleware:
    """Request ids, the IP allowlist, metrics per outcome and one access-log line."""

    def __init__(self, settings: IntakeSettings, metrics: IntakeMetrics) -> None:
        self._settings = settings
        self._metrics = metrics

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.info = RequestInfo(request_id=uuid.uuid4().hex, started=time.perf_counter())
        if req.path.startswith(SOAP_ROUTE_PREFIX):
            address = client_address(
                req.remote_addr, req.get_header("X-Forwarded-For"), self._settings.trusted_proxies
            )
            req.context.info.extra["client"] = str(address)
            if not is_allowed(address, self._settings.allowed_networks):
                raise client_fault("ip_forbidden", "client address is not allowed")

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        info: RequestInfo | None = getattr(req.context, "info", None)
        if info is None:  # pragma: no cover - process_request always runs first
            return
        resp.set_header("X-Request-Id", info.request_id)
        soap = req.path.startswith(SOAP_ROUTE_PREFIX)
        if soap and req.method == "POST":
            self._metrics.requests.labels(
                info.contract or "-", info.outcome, info.reason or ""
            ).inc()
        latency_ms = round((time.perf_counter() - info.started) * 1000, 2)
        fields: dict[str, Any] = {
            "request_id": info.request_id,
            "method": req.method,
            "path": req.path,
            "status": int(resp.status_code),
            "outcome": info.outcome if soap else "ok" if resp.status_code < 400 else "error",
            "latency_ms": latency_ms,
        }
        for key in ("contract", "org", "action", "count", "duplicates", "reason", "body_bytes"):
            value = getattr(info, key)
            if value is not None:
                fields[key] = value
        fields.update(info.extra)
        level = logging.INFO if soap else logging.DEBUG
        log.log(level, "request", extra={"fields": fields})


def _fault_response(resp: falcon.Response, fault: SoapFault) -> None:
    resp.status = falcon.HTTP_500
    resp.content_type = XML_CONTENT_TYPE
    resp.data = fault_envelope(fault.code, fault.message)


def handle_fault(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    if not isinstance(ex, SoapFault):  # pragma: no cover - registered for SoapFault only
        raise ex
    info: RequestInfo | None = getattr(req.context, "info", None)
    if info is not None:
        info.outcome, info.reason = "fault", ex.reason
    if ex.reason == "too_large":
        resp.set_header("Connection", "close")
    _fault_response(resp, ex)


def handle_any(req: falcon.Request, resp: falcon.Response, ex: Exception, params: Any) -> None:
    """The catch-all: on a SOAP route EVERYTHING becomes a SOAP fault (404, 405, bugs)."""
    info: RequestInfo | None = getattr(req.context, "info", None)
    if req.path.startswith(SOAP_ROUTE_PREFIX) or not isinstance(ex, falcon.HTTPError):
        if isinstance(ex, falcon.HTTPError):
            fault = client_fault("http_" + str(ex.status_code), f"{ex.title}")
        else:
            log.error(
                "unhandled error",
                exc_info=ex,
                extra={"fields": {"request_id": info.request_id if info else None}},
            )
            fault = SoapFault("soapenv:Server", "internal", "internal error; retry later")
        if info is not None:
            info.outcome, info.reason = "fault", fault.reason
        _fault_response(resp, fault)
        return
    resp.status = ex.status
    resp.content_type = falcon.MEDIA_TEXT
    resp.text = f"{ex.title}\n"


def create_app(
    settings: IntakeSettings,
    *,
    queue: DurableQueue | None = None,
    metrics: IntakeMetrics | None = None,
    endpoints: dict[str, Endpoint] | None = None,
) -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI app: one route per outbound-message contract plus health and metrics."""
    metrics = metrics or IntakeMetrics()
    queue = queue or DurableQueue(
        settings.core,
        timeout_ms=settings.enqueue_timeout_ms,
        ready_timeout_ms=settings.ready_timeout_ms,
        dedupe_ttl_s=settings.dedupe_ttl_s,
        trail=settings.trail,
    )
    endpoints = build_endpoints(settings) if endpoints is None else endpoints
    warm_up(endpoints)
    queue.warm_up()
    app = falcon.App(middleware=[RequestMiddleware(settings, metrics)])
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route(
        SOAP_ROUTE_PREFIX + "{name}", OutboundResource(endpoints, settings, queue, metrics)
    )
    app.add_route("/healthz", HealthResource())
    app.add_route("/readyz", ReadyResource(queue))
    app.add_route("/metrics", MetricsResource(metrics))
    app.add_error_handler(Exception, handle_any)
    # Falcon's own handler for HTTPError (JSON) is more specific than Exception.
    app.add_error_handler(falcon.HTTPError, handle_any)
    app.add_error_handler(SoapFault, handle_fault)
    return app
