"""The order callback through the org's own Apex: ``SfgwOrderService`` (SOAP) or its REST
resource, both in the bundle under ``salesforce/`` (``force-app/main/default/classes``).

One call carries up to ``SFGW_CALLBACK_BATCH_SIZE`` records (2,000 at most here: one
partial-success DML statement in the org, well inside its 10,000-row limit) and answers
one result per record, in order, like a SaveResult. The SOAP call is built and read with
the bindings xsdata generated from the class's WSDL in ``contracts/salesforce/apex``; the
REST call sends the same list as JSON.

Two failures of a whole call are told apart, because the pipeline treats them apart:

* :class:`ApexCallFailed` -- the call reached the Apex code and it threw (an uncaught
  exception, a governor limit such as ``System.LimitException``). Retried as a batch
  once, then split, so that one record that makes Apex throw cannot hold back the rest.
* :class:`ApexNotDeployed` -- the org has no such class or resource. Nothing a retry of
  the same call fixes soon, but nothing to lose either: the records wait (long backoff),
  and one log line says which bundle to deploy.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import requests
from lxml import etree

from gateway.bindings.binder import BindingError, ContractBinder
from gateway.jobs import FieldValue
from gateway.namespaces import APEX_ORDER_SERVICE, SOAP11_ENVELOPE
from gateway.salesforce import metrics
from gateway.salesforce.api import RecordUpdate, RestApi, parse_limit_info
from gateway.salesforce.auth import AccessToken
from gateway.salesforce.errors import (
    ApexCallFailed,
    Kind,
    RecordOutcome,
    SalesforceError,
    kind_of,
)
from gateway.salesforce.settings import SalesforceSettings
from gateway.soap import SoapParseError, envelope, parse_envelope

log = logging.getLogger("sfgw.salesforce")

#: The most records one Apex call may carry (the class updates them in one DML statement).
MAX_RECORDS_PER_APEX_CALL = 2000
REST_PATH = "/services/apexrest/sfgw/orders"
SOAP_PATH = "/services/Soap/class/SfgwOrderService"
BINDINGS = "generated.sfgw_order_service"
DEPLOY_HINT = (
    "deploy the org bundle with its SfgwOrderService classes "
    "(sfgw org bundle, then sf project deploy start), or set SFGW_CALLBACK_API=collections"
)


class ApexNotDeployed(SalesforceError):
    """The org has no SfgwOrderService class (or its REST resource)."""

    @property
    def kind(self) -> Kind:
        return "limit"  # the long backoff: an operator deploys once for all records


class _NotDeployedWarning:
    """One log line per process, mode and quarter hour, not one per batch."""

    def __init__(self, every_s: float = 900.0) -> None:
        self._every_s = every_s
        self._last: dict[str, float] = {}

    def __call__(self, api: str) -> None:
        now = time.monotonic()
        last = self._last.get(api)
        if last is not None and now - last < self._every_s:
            return
        self._last[api] = now
        log.error(
            "SFGW_CALLBACK_API=%s: the org has no SfgwOrderService Apex %s; %s",
            api,
            "class" if api == "apex_soap" else "REST resource",
            DEPLOY_HINT,
        )


_warn_not_deployed = _NotDeployedWarning()


def _outcomes(
    records: Sequence[RecordUpdate], results: Sequence[tuple[Any, bool, str, str]]
) -> list[RecordOutcome]:
    """One outcome per record from ``(id, success, statusCode, message)`` results, which
    must come back one per record, in order (the class's contract)."""
    if len(results) != len(records):
        raise SalesforceError(
            "INVALID_RESPONSE", f"{len(results)} results for {len(records)} records"
        )
    outcomes = []
    for record, (_, success, code, message) in zip(records, results, strict=True):
        if success:
            outcomes.append(RecordOutcome.success(record.record_id))
        else:
            outcomes.append(
                RecordOutcome.failure(record.record_id, code or "UNKNOWN_EXCEPTION", message)
            )
    return outcomes


class _ApexApi:
    """What both Apex flavours share: the record fields, reads over REST, the HTTP call."""

    name = "apex"

    def __init__(self, settings: SalesforceSettings, http: requests.Session) -> None:
        self._settings = settings
        self._http = http
        self._rest = RestApi(settings, http)

    def _update(self, record: RecordUpdate) -> tuple[str, str | None, str | None]:
        fields = record.fields
        return (
            record.record_id,
            fields.get(self._settings.order_number_field),
            fields.get(self._settings.order_status_field),
        )

    def read_opportunity(
        self, token: AccessToken, org_id: str, record_id: str, fields: Sequence[str]
    ) -> dict[str, FieldValue]:
        return self._rest.read_opportunity(token, org_id, record_id, fields)

    def _post(self, token: AccessToken, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self._http.post(
                f"{token.instance_url}{path}",
                timeout=self._settings.timeout_s,
                allow_redirects=False,
                **kwargs,
            )
        except requests.Timeout:
            metrics.API_CALLS.labels(self.name, "timeout").inc()
            raise SalesforceError("TIMEOUT", f"Apex call to {path} timed out") from None
        except requests.ConnectionError:
            metrics.API_CALLS.labels(self.name, "connection").inc()
            raise SalesforceError("CONNECTION", f"cannot reach {token.instance_url}") from None
        metrics.API_CALLS.labels(self.name, str(response.status_code)).inc()
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            metrics.record_usage(*usage)
        return response


class ApexRestApi(_ApexApi):
    """``POST /services/apexrest/sfgw/orders`` with ``{"updates": [...]}``."""

    name = "apex_rest"

    def body(self, records: Sequence[RecordUpdate]) -> bytes:
        """The JSON the resource's ``@HttpPost`` method reads."""
        updates = [
            {"opportunityId": rid, "orderNumber": number, "orderStatus": status}
            for rid, number, status in map(self._update, records)
        ]
        return json.dumps({"updates": updates}, separators=(",", ":")).encode()

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]:
        response = self._post(
            token,
            REST_PATH,
            data=self.body(records),
            headers={
                "Authorization": f"Bearer {token.value}",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
        )
        status = response.status_code
        if status == 200:
            results = response.json()
            if not isinstance(results, list):
                raise SalesforceError("INVALID_RESPONSE", "the Apex resource did not answer a list")
            return _outcomes(
                records,
                [
                    (r.get("opportunityId"), r.get("success") is True,
                     str(r.get("statusCode") or ""), str(r.get("message") or ""))
                    for r in results if isinstance(r, dict)
                ],
            )  # fmt: skip
        code, message = _json_error(response)
        if status == 401:
            raise SalesforceError("INVALID_SESSION_ID", message, status=status)
        if status == 404 and code in ("NOT_FOUND", f"HTTP_{status}"):
            _warn_not_deployed(self.name)
            raise ApexNotDeployed("APEX_NOT_DEPLOYED", f"{message}; {DEPLOY_HINT}", status=status)
        if (status == 500 and code == "APEX_ERROR") or status == 400:
            # 400: the resource could not read the body (JSON_PARSER_ERROR on one value);
            # like a throw, something in the records: narrowed down, not dead-lettered whole
            raise ApexCallFailed(code, message, status=status)
        raise SalesforceError(code, message, status=status)


class ApexSoapApi(_ApexApi):
    """``updateOrders`` of ``/services/Soap/class/SfgwOrderService``, the access token in
    ``SessionHeader``, with the class's generated bindings."""

    name = "apex_soap"

    def __init__(self, settings: SalesforceSettings, http: requests.Session) -> None:
        super().__init__(settings, http)
        self._binder = ContractBinder(BINDINGS)
        self._request = self._binder.element_class(f"{{{APEX_ORDER_SERVICE}}}updateOrders")
        self._response = self._binder.element_class(f"{{{APEX_ORDER_SERVICE}}}updateOrdersResponse")
        self._item = self._binder.type_class(f"{{{APEX_ORDER_SERVICE}}}OrderUpdate")
        self._header = self._binder.element_class(f"{{{APEX_ORDER_SERVICE}}}SessionHeader")

    def body(self, records: Sequence[RecordUpdate], session_id: str) -> bytes:
        """The ``updateOrders`` envelope, built with the class's generated bindings."""
        items = [
            self._item(opportunity_id=rid, order_number=number, order_status=status)
            for rid, number, status in map(self._update, records)
        ]
        return envelope(
            self._binder.render(self._request(updates=items)),
            self._binder.render(self._header(session_id=session_id)),
        )

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]:
        response = self._post(
            token,
            SOAP_PATH,
            data=self.body(records, token.value),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
        )
        try:
            payload = parse_envelope(response.content).payload
        except SoapParseError:
            if response.status_code == 404:
                _warn_not_deployed(self.name)
                raise ApexNotDeployed("APEX_NOT_DEPLOYED", DEPLOY_HINT, status=404) from None
            raise SalesforceError(
                f"HTTP_{response.status_code}", "the Apex SOAP answer is not SOAP",
                status=response.status_code,
            ) from None  # fmt: skip
        if payload.tag == f"{{{SOAP11_ENVELOPE}}}Fault":
            raise self._fault(payload, response.status_code)
        try:
            reply = self._binder.bind(payload, self._response)
        except BindingError as error:
            raise SalesforceError("INVALID_RESPONSE", f"updateOrdersResponse: {error}") from None
        return _outcomes(
            records,
            [
                (r.opportunity_id, r.success is True, r.status_code or "", r.message or "")
                for r in reply.result
                if r is not None
            ],
        )

    def _fault(self, fault: etree._Element, status: int) -> SalesforceError:
        code = (fault.findtext("faultcode") or "").rpartition(":")[2]
        text = fault.findtext("faultstring") or code
        if kind_of(code) != "permanent":
            # An API-level fault (a dead session, the daily limit, SERVER_UNAVAILABLE on a
            # 503): the call never reached the class, so it says nothing of the records.
            return SalesforceError(code, text, status=status)
        if "No such operation" in text or "No operation available" in text:
            _warn_not_deployed(self.name)
            return ApexNotDeployed("APEX_NOT_DEPLOYED", f"{text}; {DEPLOY_HINT}", status=status)
        return ApexCallFailed(code or "APEX_ERROR", text, status=status)


def _json_error(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", response.reason or ""
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code = str(first.get("errorCode") or f"HTTP_{response.status_code}")
        return code, str(first.get("message", ""))
    return f"HTTP_{response.status_code}", ""
