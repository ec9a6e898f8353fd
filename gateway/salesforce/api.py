"""The Salesforce APIs the workers call, on the wire: REST, sObject Collections, SOAP.

* ``rest``: ``PATCH /services/data/vXX.X/sobjects/Opportunity/{id}``, one call per record.
* ``collections``: ``PATCH /services/data/vXX.X/composite/sobjects``, up to 200 records
  per call with ``allOrNone=false``, one SaveResult per record.
* ``soap``: Partner API ``update()`` through zeep (``contracts/salesforce/partner.wsdl``),
  up to 200 records per call, bound to ``instance_url/services/Soap/u/<ver>/<org15>``.

Every API returns one :class:`RecordOutcome` per record, in input order; a failure of
the whole call (session, limits, 5xx, timeouts) raises :class:`SalesforceError`. Each call
takes the token to use; choosing and refreshing it is :mod:`gateway.salesforce.client`'s
job. ``read_opportunity`` (REST GET or SOAP ``retrieve``) serves the Id-only contract,
``query`` (REST, paged) the reconciliation sweep.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import requests
from lxml import etree

from gateway.jobs import FieldValue
from gateway.namespaces import PARTNER, PARTNER_SOBJECT
from gateway.salesforce import metrics
from gateway.salesforce.auth import AccessToken
from gateway.salesforce.errors import RecordOutcome, SalesforceError
from gateway.salesforce.settings import SalesforceSettings

MAX_RECORDS_PER_CALL = 200


@dataclass(frozen=True)
class RecordUpdate:
    """Field values to write onto one Opportunity (18-char id)."""

    record_id: str
    fields: Mapping[str, str]


class CallbackApi(Protocol):
    name: str

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]: ...

    def read_opportunity(
        self, token: AccessToken, org_id: str, record_id: str, fields: Sequence[str]
    ) -> dict[str, FieldValue]: ...


def parse_limit_info(header: str | None) -> tuple[int, int] | None:
    """``api-usage=18/5000`` (possibly among other comma-separated items) -> (18, 5000)."""
    if not header:
        return None
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name.strip() == "api-usage":
            used, _, limit = value.partition("/")
            try:
                return int(used), int(limit)
            except ValueError:
                return None
    return None


def _rest_error(response: requests.Response) -> tuple[str, str]:
    """(errorCode, message) from a REST error body (a JSON array of errors)."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", response.reason or ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        return str(first.get("errorCode") or first.get("statusCode") or ""), str(
            first.get("message", "")
        )
    if isinstance(body, dict):
        return str(body.get("errorCode", f"HTTP_{response.status_code}")), str(
            body.get("message", "")
        )
    return f"HTTP_{response.status_code}", ""


class RestApi:
    """REST: PATCH per record, GET for reads."""

    name = "rest"

    def __init__(self, settings: SalesforceSettings, http: requests.Session) -> None:
        self._settings = settings
        self._http = http

    def _url(self, token: AccessToken, path: str) -> str:
        return f"{token.instance_url}/services/data/v{self._settings.api_version}/{path}"

    def _call(
        self,
        method: str,
        token: AccessToken,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token.value}",
            "Accept": "application/json",
            **(headers or {}),
        }
        try:
            response = self._http.request(
                method,
                self._url(token, path),
                headers=headers,
                timeout=self._settings.timeout_s,
                allow_redirects=False,
                **kwargs,
            )
        except requests.Timeout:
            metrics.API_CALLS.labels(self.name, "timeout").inc()
            raise SalesforceError(
                "TIMEOUT", f"{method} {path.split('/', maxsplit=1)[0]} timed out"
            ) from None
        except requests.ConnectionError:
            metrics.API_CALLS.labels(self.name, "connection").inc()
            raise SalesforceError("CONNECTION", f"cannot reach {token.instance_url}") from None
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        if usage is not None:
            metrics.record_usage(*usage)
        status = response.status_code
        metrics.API_CALLS.labels(self.name, str(status)).inc()
        if status == 401 or status >= 500 or status == 403:
            code, message = _rest_error(response)
            if status == 401:
                code = "INVALID_SESSION_ID"
            if status == 403 and code != "REQUEST_LIMIT_EXCEEDED":
                # Missing permissions are permanent; they are about this record's request.
                return response
            raise SalesforceError(code or f"HTTP_{status}", message, status=status)
        return response

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]:
        outcomes = []
        for record in records:
            response = self._call(
                "PATCH", token, f"sobjects/Opportunity/{record.record_id}", json=dict(record.fields)
            )
            if response.status_code in (200, 204):
                outcomes.append(RecordOutcome.success(record.record_id))
            else:
                code, message = _rest_error(response)
                outcomes.append(RecordOutcome.failure(record.record_id, code, message))
        return outcomes

    def read_opportunity(
        self, token: AccessToken, org_id: str, record_id: str, fields: Sequence[str]
    ) -> dict[str, FieldValue]:
        response = self._call(
            "GET", token, f"sobjects/Opportunity/{record_id}", params={"fields": ",".join(fields)}
        )
        if response.status_code != 200:
            code, message = _rest_error(response)
            if response.status_code == 404:
                code = code if code not in ("", "NOT_FOUND") else "ENTITY_IS_DELETED"
            raise SalesforceError(code, message, status=response.status_code)
        body = response.json()
        if not isinstance(body, dict):
            raise SalesforceError("INVALID_RESPONSE", "record read did not return an object")
        return {
            name: value
            for name, value in body.items()
            if name != "attributes" and isinstance(value, str | int | float | bool | type(None))
        }

    def query(
        self, token: AccessToken, soql: str, batch_size: int
    ) -> Iterator[list[dict[str, Any]]]:
        """The pages of a SOQL query's records, following ``nextRecordsUrl``."""
        path = f"query?q={quote(soql)}"
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        while path:
            response = self._call("GET", token, path, headers=headers)
            if response.status_code != 200:
                code, message = _rest_error(response)
                raise SalesforceError(code, f"query failed: {message}", status=response.status_code)
            body = response.json()
            records = body.get("records") if isinstance(body, dict) else None
            if not isinstance(records, list):
                raise SalesforceError("INVALID_RESPONSE", "query reply has no records list")
            yield [r for r in records if isinstance(r, dict)]
            next_url = body.get("nextRecordsUrl")
            done = body.get("done", True)
            path = _relative(next_url) if isinstance(next_url, str) and not done else ""


def _relative(next_url: str) -> str:
    """``/services/data/v62.0/query/01g...-2000`` -> ``query/01g...-2000``."""
    return next_url.split("/services/data/", 1)[-1].split("/", 1)[-1]


class CollectionsApi(RestApi):
    """REST sObject Collections: one PATCH per up to 200 records."""

    name = "collections"

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]:
        outcomes: list[RecordOutcome] = []
        for start in range(0, len(records), MAX_RECORDS_PER_CALL):
            chunk = records[start : start + MAX_RECORDS_PER_CALL]
            body = {
                "allOrNone": False,
                "records": [
                    {"attributes": {"type": "Opportunity"}, "id": r.record_id, **r.fields}
                    for r in chunk
                ],
            }
            response = self._call("PATCH", token, "composite/sobjects", json=body)
            if response.status_code != 200:
                code, message = _rest_error(response)
                raise SalesforceError(code, message, status=response.status_code)
            results = response.json()
            if not isinstance(results, list) or len(results) != len(chunk):
                raise SalesforceError("INVALID_RESPONSE", "SaveResult count does not match")
            for record, result in zip(chunk, results, strict=True):
                outcomes.append(_save_result(record.record_id, result))
        return outcomes


def _save_result(record_id: str, result: Any) -> RecordOutcome:
    success = result.get("success") if isinstance(result, dict) else result.success
    if success:
        return RecordOutcome.success(record_id)
    errors = result.get("errors") if isinstance(result, dict) else result.errors
    first = errors[0] if errors else None
    if first is None:
        return RecordOutcome.failure(record_id, "UNKNOWN_EXCEPTION", "failed without an error")
    if isinstance(first, dict):
        return RecordOutcome.failure(
            record_id, str(first.get("statusCode", "")), str(first.get("message", ""))
        )
    return RecordOutcome.failure(record_id, str(first.statusCode), str(first.message or ""))


class SoapApi:
    """Partner API ``update``/``retrieve`` through zeep; one zeep Client per process."""

    name = "soap"

    def __init__(
        self,
        settings: SalesforceSettings,
        http: requests.Session,
        wsdl: Path,
    ) -> None:
        from zeep import Client, Settings
        from zeep.transports import Transport

        self._settings = settings
        transport = Transport(  # type: ignore[no-untyped-call]
            session=http, timeout=10, operation_timeout=settings.timeout_s
        )
        self._client = Client(  # type: ignore[no-untyped-call]
            str(wsdl),
            transport=transport,
            settings=Settings(
                strict=True,
                xml_huge_tree=False,
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
            ),
        )
        self._sobject = self._client.get_type(  # type: ignore[no-untyped-call]
            f"{{{PARTNER_SOBJECT}}}sObject"
        )
        self._session_header = self._client.get_element(  # type: ignore[no-untyped-call]
            f"{{{PARTNER}}}SessionHeader"
        )
        self._services: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _service(self, token: AccessToken, org_id: str) -> Any:
        address = f"{token.instance_url}/services/Soap/u/{self._settings.api_version}/{org_id[:15]}"
        with self._lock:
            service = self._services.get(address)
            if service is None:
                service = self._client.create_service(  # type: ignore[no-untyped-call]
                    f"{{{PARTNER}}}SoapBinding", address
                )
                self._services[address] = service
        return service

    def _call(self, token: AccessToken, org_id: str, operation: str, **kwargs: Any) -> Any:
        from zeep.exceptions import Fault, TransportError

        service = self._service(token, org_id)
        header = self._session_header(sessionId=token.value)
        try:
            reply = getattr(service, operation)(_soapheaders=[header], **kwargs)
        except Fault as fault:
            metrics.API_CALLS.labels(self.name, "fault").inc()
            code = _fault_code(fault)
            raise SalesforceError(code, str(fault.message or code)) from None
        except requests.Timeout:
            metrics.API_CALLS.labels(self.name, "timeout").inc()
            raise SalesforceError("TIMEOUT", f"SOAP {operation} timed out") from None
        except requests.ConnectionError:
            metrics.API_CALLS.labels(self.name, "connection").inc()
            raise SalesforceError("CONNECTION", f"cannot reach {token.instance_url}") from None
        except TransportError as error:
            metrics.API_CALLS.labels(self.name, str(error.status_code)).inc()
            raise SalesforceError(
                f"HTTP_{error.status_code}", "SOAP call failed", status=error.status_code
            ) from None
        metrics.API_CALLS.labels(self.name, "200").inc()
        header_part = getattr(reply, "header", None)
        limit_header = getattr(header_part, "LimitInfoHeader", None) if header_part else None
        for info in getattr(limit_header, "limitInfo", None) or []:
            if getattr(info, "type", "") == "API REQUESTS":
                metrics.record_usage(int(info.current), int(info.limit))
        return getattr(reply, "body", reply)

    def update(
        self, token: AccessToken, org_id: str, records: Sequence[RecordUpdate]
    ) -> list[RecordOutcome]:
        outcomes: list[RecordOutcome] = []
        for start in range(0, len(records), MAX_RECORDS_PER_CALL):
            chunk = records[start : start + MAX_RECORDS_PER_CALL]
            objects = [
                self._sobject(
                    type="Opportunity",
                    Id=r.record_id,
                    _value_1=[_field_element(name, value) for name, value in r.fields.items()],
                )
                for r in chunk
            ]
            body = self._call(token, org_id, "update", sObjects=objects)
            results = list(getattr(body, "result", None) or [])
            if len(results) != len(chunk):
                raise SalesforceError("INVALID_RESPONSE", "SaveResult count does not match")
            for record, result in zip(chunk, results, strict=True):
                outcomes.append(_save_result(record.record_id, result))
        return outcomes

    def read_opportunity(
        self, token: AccessToken, org_id: str, record_id: str, fields: Sequence[str]
    ) -> dict[str, FieldValue]:
        body = self._call(
            token,
            org_id,
            "retrieve",
            fieldList=",".join(fields),
            sObjectType="Opportunity",
            ids=[record_id],
        )
        results = list(getattr(body, "result", None) or [])
        record = results[0] if results else None
        if record is None or not getattr(record, "Id", None):  # xsi:nil: no such record
            raise SalesforceError("ENTITY_IS_DELETED", f"Opportunity {record_id} not found")
        values: dict[str, FieldValue] = {"Id": record.Id}
        for element in record._value_1 or []:
            if isinstance(element, etree._Element):
                values[etree.QName(element).localname] = _soap_value(element)
        return values


def _field_element(name: str, value: str) -> etree._Element:
    element = etree.Element(f"{{{PARTNER_SOBJECT}}}{name}")
    element.text = value
    return element


_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _soap_value(element: etree._Element) -> FieldValue:
    """Partner API fields are untyped text; give the ones the order needs their type."""
    if element.get(_XSI_NIL) in ("true", "1"):
        return None
    text = element.text or ""
    name = etree.QName(element).localname
    if name in ("IsWon", "IsClosed", "IsDeleted"):
        return text == "true"
    if name in ("Amount", "Probability", "ExpectedRevenue"):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _fault_code(fault: Any) -> str:
    detail = getattr(fault, "detail", None)
    if detail is not None:
        for element in detail.iter():
            if isinstance(element.tag, str) and etree.QName(element).localname == "exceptionCode":
                return (element.text or "").strip() or "UNKNOWN_EXCEPTION"
    code = str(getattr(fault, "code", "") or "")
    return code.rsplit(":", maxsplit=1)[-1] or "UNKNOWN_EXCEPTION"


def make_api(
    settings: SalesforceSettings, http: requests.Session, partner_wsdl: Path
) -> CallbackApi:
    """The API ``SFGW_CALLBACK_API`` names (the Partner WSDL is loaded for ``soap`` only)."""
    from gateway.salesforce.apex import ApexRestApi, ApexSoapApi

    if settings.callback_api == "soap":
        return SoapApi(settings, http, partner_wsdl)
    if settings.callback_api == "apex_soap":
        return ApexSoapApi(settings, http)
    if settings.callback_api == "apex_rest":
        return ApexRestApi(settings, http)
    if settings.callback_api == "collections":
        return CollectionsApi(settings, http)
    return RestApi(settings, http)
