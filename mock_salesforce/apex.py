"""The org's Apex callback: ``SfgwOrderService`` (SOAP, ``/services/Soap/class/...``) and
``SfgwOrderRestResource`` (REST, ``/services/apexrest/sfgw/orders``), with the semantics
of the Apex source in the org bundle (``salesforce/force-app/main/default/classes``).

What the classes do, the mock does: one partial-success update of the whole list
(``Database.update(records, false)``, the save rules of :mod:`mock_salesforce.updates`,
so row locks and validation rules fire here as in every other API) and one result per
input, in input order. What Apex itself does around them is modelled too:

* a list longer than the transaction's DML row limit (10,000, or ``dml_row_limit`` of
  ``PUT /admin/apex``) throws the uncatchable ``System.LimitException``: the whole call
  fails, as a SOAP fault or as HTTP 500 ``APEX_ERROR``, and no record is saved;
* an id that is not an Opportunity's makes the class throw
  (``System.SObjectException``): the whole call fails the same way;
* a value Apex cannot deserialise (a malformed id) is refused before the class runs:
  HTTP 400 ``JSON_PARSER_ERROR`` or a ``soapenv:Client`` fault;
* a request over 6 MB is refused (413 ``REQUEST_ENTITY_TOO_LARGE`` or a client fault);
* each call counts one API request and passes the same admission as every API call
  (``INVALID_SESSION_ID``, ``REQUEST_LIMIT_EXCEEDED``, injected errors);
* ``deployed: false`` acts as an org without the classes: 404 ``NOT_FOUND`` for REST,
  the ``No such operation`` fault for SOAP.

The exact texts of Apex's errors are documented guesses (docs/mock-salesforce.md says
which); their codes and shapes are what the gateway depends on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import falcon

from gateway import sfid
from gateway.bindings.binder import BindingError, ContractBinder
from gateway.namespaces import APEX_ORDER_SERVICE, SOAP11_ENVELOPE
from gateway.soap import SoapParseError, envelope, parse_envelope
from mock_salesforce import partner
from mock_salesforce.admission import admit
from mock_salesforce.org import Org
from mock_salesforce.rest import read_up_to, rest_error
from mock_salesforce.updates import SaveResult, save

REST_PATH = "/services/apexrest/sfgw/orders"
SOAP_PATH = "/services/Soap/class/SfgwOrderService"
#: Apex's request size limit (synchronous transactions).
MAX_REQUEST_BYTES = 6 * 1024 * 1024
#: Where a throw in the shared implementation is reported (the stack trace line).
_TRACE = "\n\nClass.SfgwOrderUpdates.apply: line 27, column 1"

_binder = ContractBinder("generated.sfgw_order_service")
_UPDATE_MEMBERS = {"opportunityId", "orderNumber", "orderStatus"}


@dataclass(frozen=True)
class OrderUpdate:
    """One ``SfgwOrderService.OrderUpdate`` as Apex deserialised it."""

    opportunity_id: str | None
    order_number: str | None
    order_status: str | None


class ApexThrew(Exception):
    """An uncaught exception in the class: the transaction is rolled back."""

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(f"{type_name}: {text}")
        self.message = f"{type_name}: {text}{_TRACE}"


class NotDeserialisable(ValueError):
    """Apex could not turn the request into the method's parameters."""


def as_id(value: object) -> str | None:
    """An ``Id`` member as Apex reads it: null, or 18 characters; NotDeserialisable else."""
    if value is None:
        return None
    if not isinstance(value, str) or not sfid.is_valid(value):
        raise NotDeserialisable(f"Invalid id: {value}")
    return sfid.to18(value)


def apply_updates(org: Org, updates: Sequence[OrderUpdate]) -> list[dict[str, Any]]:
    """``SfgwOrderUpdates.apply``: the results, one per update, as the class returns them
    (``None`` members omitted, as Apex serialises them)."""
    if not updates:
        return []
    limit = org.apex_classes().dml_row_limit
    if len(updates) > limit:
        raise ApexThrew("System.LimitException", f"Too many DML rows: {limit + 1}")
    for update in updates:
        if update.opportunity_id is not None and not update.opportunity_id.startswith("006"):
            raise ApexThrew(
                "System.SObjectException",
                f"Invalid id value for this SObject type: {update.opportunity_id}",
            )
    items = [
        (u.opportunity_id, {"Order_Number__c": u.order_number, "Order_Status__c": u.order_status})
        for u in updates
    ]
    saved = save(org.store, org.schema, items, all_or_none=False, rng=org.rng)
    return [_result(update, result) for update, result in zip(updates, saved, strict=True)]


def _result(update: OrderUpdate, saved: SaveResult) -> dict[str, Any]:
    result: dict[str, Any] = {"opportunityId": update.opportunity_id, "success": saved.success}
    if saved.errors:
        result["statusCode"] = saved.errors[0].status_code
        result["message"] = saved.errors[0].message
    return {key: value for key, value in result.items() if value is not None}


# -- REST ------------------------------------------------------------------------------


def _rest_updates(body: bytes) -> list[OrderUpdate]:
    try:
        document = json.loads(body or b"{}")
    except ValueError as error:
        raise NotDeserialisable(f"Unexpected character: {error}") from None
    if not isinstance(document, dict):
        raise NotDeserialisable("Expected an object with the parameters of updateOrders")
    unknown = set(document) - {"updates"}
    if unknown:
        raise NotDeserialisable(f"Unexpected parameter encountered during deserialization: "
                                f"{sorted(unknown)[0]}")  # fmt: skip
    raw = document.get("updates")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise NotDeserialisable("updates: Expected List<SfgwOrderService.OrderUpdate>")
    updates = []
    for item in raw:
        extra = set(item) - _UPDATE_MEMBERS
        if extra:
            raise NotDeserialisable(f"No such column '{sorted(extra)[0]}' on OrderUpdate")
        updates.append(
            OrderUpdate(as_id(item.get("opportunityId")), _text(item.get("orderNumber")),
                        _text(item.get("orderStatus")))
        )  # fmt: skip
    return updates


def _text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | dict | list):
        raise NotDeserialisable(f"Expected String but found {json.dumps(value)}")
    return str(value)  # numbers are read into a String as their text


class ApexRestResource:
    """``@HttpPost`` of ``SfgwOrderRestResource`` (``urlMapping='/sfgw/orders/*'``)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response, tail: str = "") -> None:
        auth = req.get_header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        refusal = admit(self.org, token.strip() if scheme.lower() in ("bearer", "oauth") else None)
        resp.set_header("Sforce-Limit-Info", self.org.usage_header())
        if refusal is not None:
            rest_error(resp, refusal.rest_status, refusal.code, refusal.message)
            return
        if not self.org.apex_classes().deployed:
            rest_error(resp, 404, "NOT_FOUND", f"Could not find a match for URL {req.path}")
            return
        body = read_up_to(req, MAX_REQUEST_BYTES)
        if len(body) > MAX_REQUEST_BYTES:
            rest_error(resp, 413, "REQUEST_ENTITY_TOO_LARGE", "The request exceeds 6 MB")
            return
        try:
            results = apply_updates(self.org, _rest_updates(body))
        except NotDeserialisable as error:
            rest_error(resp, 400, "JSON_PARSER_ERROR", str(error))
            return
        except ApexThrew as error:
            rest_error(resp, 500, "APEX_ERROR", error.message)
            return
        resp.media = results


# -- SOAP ------------------------------------------------------------------------------


def _soap_fault(code: str, text: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>soapenv:{code}</faultcode><faultstring>{escape(text)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _session(header: Any) -> str | None:
    if header is None:
        return None
    text = header.findtext(
        f"{{{APEX_ORDER_SERVICE}}}SessionHeader/{{{APEX_ORDER_SERVICE}}}sessionId"
    )
    return (text or "").strip() or None


class _Fault(Exception):
    """A SOAP fault to answer with (HTTP status, envelope)."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def handle_soap(org: Org, body: bytes) -> tuple[int, bytes]:
    """(HTTP status, envelope) for one call of ``SfgwOrderService``."""
    try:
        return 200, _serve_soap(org, body)
    except _Fault as fault:
        return fault.status, fault.body


def _serve_soap(org: Org, body: bytes) -> bytes:
    if len(body) > MAX_REQUEST_BYTES:
        raise _Fault(500, _soap_fault("Client", "REQUEST_ENTITY_TOO_LARGE: over 6 MB"))
    try:
        env = parse_envelope(body)
    except SoapParseError as error:
        raise _Fault(500, _soap_fault("Client", str(error))) from None
    refusal = admit(org, _session(env.header))
    if refusal is not None:
        raise _Fault(refusal.soap_status, partner.refusal_fault(refusal))
    operation = env.payload.tag.rpartition("}")[2]
    if not org.apex_classes().deployed:
        raise _Fault(500, _soap_fault("Client", f"No such operation '{operation}'"))
    if env.payload.tag != f"{{{APEX_ORDER_SERVICE}}}updateOrders":
        text = f"No operation available for request {env.payload.tag}"
        raise _Fault(500, _soap_fault("Client", text))
    try:
        call = _binder.bind(
            env.payload, _binder.element_class(f"{{{APEX_ORDER_SERVICE}}}updateOrders")
        )
        updates = [
            OrderUpdate(as_id(u.opportunity_id), u.order_number, u.order_status)
            for u in call.updates
        ]
        results = apply_updates(org, updates)
    except (BindingError, NotDeserialisable) as error:
        raise _Fault(500, _soap_fault("Client", str(error))) from None
    except ApexThrew as error:
        raise _Fault(500, _soap_fault("Server", error.message)) from None
    result_type = _binder.type_class(f"{{{APEX_ORDER_SERVICE}}}OrderUpdateResult")
    response = _binder.element_class(f"{{{APEX_ORDER_SERVICE}}}updateOrdersResponse")(
        result=[
            result_type(
                opportunity_id=r.get("opportunityId"), success=r["success"],
                status_code=r.get("statusCode"), message=r.get("message"),
            )
            for r in results
        ]
    )  # fmt: skip
    return envelope(_binder.render(response))


class ApexSoapResource:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        status, body = handle_soap(self.org, read_up_to(req, MAX_REQUEST_BYTES))
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = body


def register_apex(app: falcon.App[Any, Any], org: Org) -> None:
    rest = ApexRestResource(org)
    app.add_route(REST_PATH, rest)
    app.add_route(REST_PATH + "/{tail:path}", rest)
    app.add_route(SOAP_PATH, ApexSoapResource(org))
