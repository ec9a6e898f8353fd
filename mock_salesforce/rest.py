"""The org's REST API (``/services/data/vXX.X/...``): the guard every call passes, the
Opportunity resource, sObject Collections and ``limits``.

Errors are Salesforce's: a JSON array of ``{"message", "errorCode"}`` objects. The save
rules are :mod:`mock_salesforce.updates`'s, shared with SOAP.
"""

from __future__ import annotations

import json
import re
from typing import Any

import falcon

from gateway import sfid
from mock_salesforce.admission import admit
from mock_salesforce.org import Org
from mock_salesforce.records import FIELDS, check_id, iso_datetime, validate_changes
from mock_salesforce.updates import MAX_RECORDS, save

VERSION = re.compile(r"^v\d{2,3}\.\d$")
MAX_BODY = 5 * 1024 * 1024


def read_body(req: falcon.Request) -> bytes:
    """Read the body ourselves: bounded_stream reads nothing for chunked requests."""
    data = (
        req.stream.read(MAX_BODY + 1)
        if req.content_length is None
        else req.bounded_stream.read(MAX_BODY + 1)
    )
    if len(data) > MAX_BODY:
        raise falcon.HTTPPayloadTooLarge()
    return data


def rest_error(
    resp: falcon.Response, status: int, code: str, message: str, fields: list[str] | None = None
) -> None:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    resp.status = falcon.code_to_http_status(status)
    resp.media = [body]


class RestGuard:
    """Every REST call passes :func:`~mock_salesforce.admission.admit` first."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, Any]
    ) -> None:
        if not getattr(resource, "rest", False):
            return
        req.context.rest = True
        version = params.get("version", "")
        if not VERSION.match(version):
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
            resp.complete = True
            return
        auth = req.get_header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        session = token.strip() if scheme.lower() in ("bearer", "oauth") else None
        refusal = admit(self.org, session)
        if refusal is not None:
            rest_error(resp, refusal.rest_status, refusal.code, refusal.message)
            resp.complete = True

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource: object, req_succeeded: bool
    ) -> None:
        if getattr(req.context, "rest", False):
            resp.set_header("Sforce-Limit-Info", self.org.usage_header())


def rest_record(
    record: dict[str, Any], version: str, fields: list[str] | None = None
) -> dict[str, Any]:
    names = fields or [f.name for f in FIELDS]
    out: dict[str, Any] = {
        "attributes": {
            "type": "Opportunity",
            "url": f"/services/data/{version}/sobjects/Opportunity/{record['Id']}",
        }
    }
    kinds = {f.name: f.kind for f in FIELDS}
    for name in names:
        value = record.get(name)
        out[name] = iso_datetime(value) if kinds.get(name) == "datetime" else value
    return out


class OpportunityResource:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str, oid: str) -> None:
        if check_id(oid) is not None:
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
            return
        record = self.org.store.get(_to18(oid))
        if record is None:
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
            return
        if record["IsDeleted"]:
            rest_error(resp, 404, "ENTITY_IS_DELETED", "entity is deleted")
            return
        fields = None
        if req.get_param("fields"):
            fields = []
            for name in req.get_param("fields", default="").split(","):
                spec = next((f for f in FIELDS if f.name.lower() == name.strip().lower()), None)
                if spec is None:
                    rest_error(
                        resp,
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name.strip()}' on sobject of type Opportunity",
                    )
                    return
                fields.append(spec.name)
        resp.media = rest_record(record, version, fields)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, version: str, oid: str) -> None:
        body = _json(req, resp)
        if body is None:
            return
        if not isinstance(body, dict):
            rest_error(
                resp,
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of Opportunity from a non-object",
            )
            return
        body.pop("attributes", None)
        if check_id(oid) is not None:
            rest_error(
                resp,
                400,
                "MALFORMED_ID",
                f"Opportunity ID: id value of incorrect type: {oid}",
                ["Id"],
            )
            return
        record = self.org.store.get(_to18(oid))
        if record is None:
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
            return
        checked = validate_changes(body)
        if checked.errors:
            error = checked.errors[0]
            rest_error(resp, 400, error.status_code, error.message, list(error.fields))
            return
        [result] = save(self.org.store, [(oid, body)], all_or_none=True, rng=self.org.rng)
        if not result.success:
            error = result.errors[0]
            status = 404 if error.status_code == "ENTITY_IS_DELETED" else 400
            rest_error(resp, status, error.status_code, error.message, list(error.fields))
            return
        resp.status = falcon.HTTP_204

    def on_post(self, req: falcon.Request, resp: falcon.Response, version: str, oid: str) -> None:
        if req.get_param("_HttpMethod", default="").upper() == "PATCH":
            self.on_patch(req, resp, version, oid)
            return
        rest_error(
            resp, 405, "METHOD_NOT_ALLOWED", "HTTP Method 'POST' not allowed. Allowed are GET,PATCH"
        )


class CollectionResource:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_patch(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        body = _json(req, resp)
        if body is None:
            return
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            rest_error(
                resp, 400, "JSON_PARSER_ERROR", "records: a non-empty array of sObjects is required"
            )
            return
        if len(records) > MAX_RECORDS:
            rest_error(
                resp,
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
            return
        items: list[tuple[object, dict[str, object]]] = []
        for record in records:
            if not isinstance(record, dict):
                rest_error(resp, 400, "JSON_PARSER_ERROR", "each record must be an object")
                return
            fields = dict(record)
            attributes = fields.pop("attributes", None)
            if not isinstance(attributes, dict) or not attributes.get("type"):
                rest_error(resp, 400, "INVALID_TYPE", "Must send a concrete entity type.")
                return
            raw_id = fields.pop("id", fields.pop("Id", None))
            items.append((raw_id, fields))
        results = save(
            self.org.store, items, all_or_none=bool(body.get("allOrNone", False)), rng=self.org.rng
        )
        resp.media = [r.rest() for r in results]


class LimitsResource:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        limit = self.org.api_limit()
        used = self.org.store.usage()
        resp.media = {"DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)}}


def _to18(oid: str) -> str:
    return sfid.to18(oid)


def _json(req: falcon.Request, resp: falcon.Response) -> Any:
    try:
        return json.loads(read_body(req) or b"null")
    except (ValueError, UnicodeDecodeError):
        rest_error(resp, 400, "JSON_PARSER_ERROR", "Unexpected character in request body")
        return None
