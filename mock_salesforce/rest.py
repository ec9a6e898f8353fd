"""What every REST resource of the org (``/services/data/...``) shares: the guard each
call passes (API version, then session and limits), Salesforce's error shape, reading a
JSON body and rendering a record.

Errors are Salesforce's: a JSON array of ``{"message", "errorCode"}`` objects. The
resources live in :mod:`rest_sobjects` (records, upsert, Collections),
:mod:`rest_describe` (versions, resources, describe, limits) and :mod:`rest_query`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import falcon

from mock_salesforce import versions
from mock_salesforce.admission import admit
from mock_salesforce.org import Org
from mock_salesforce.records import render_value
from mock_salesforce.schema import ObjectSchema

MAX_BODY = 5 * 1024 * 1024
NOT_FOUND = "The requested resource does not exist"


def read_up_to(req: falcon.Request, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body (one more tells the caller it is too
    large), read ourselves: bounded_stream reads nothing for chunked requests."""
    stream = req.stream if req.content_length is None else req.bounded_stream
    return stream.read(limit + 1)


def read_body(req: falcon.Request) -> bytes:
    data = read_up_to(req, MAX_BODY)
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


def version_refusal(resp: falcon.Response, org: Org, version: str) -> bool:
    """Answer for a version the org does not serve; True when it did."""
    verdict = versions.check(version, versions.newest_for(org.settings.api_version))
    if verdict == "retired":
        rest_error(resp, 410, "GONE", f"API version {version[1:]} is retired and unavailable")
    elif verdict is not None:
        rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
    return verdict is not None


class RestGuard:
    """Every REST call passes the version check, then
    :func:`~mock_salesforce.admission.admit` (resources marked ``rest``)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def process_resource(
        self, req: falcon.Request, resp: falcon.Response, resource: object, params: dict[str, Any]
    ) -> None:
        if not getattr(resource, "rest", False):
            return
        req.context.rest = True
        if version_refusal(resp, self.org, params.get("version", "")):
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


def record_url(version: str, schema: ObjectSchema, oid: str) -> str:
    return f"/services/data/{version}/sobjects/{schema.name}/{oid}"


def rest_record(
    record: dict[str, Any], version: str, schema: ObjectSchema, fields: Sequence[str] | None = None
) -> dict[str, Any]:
    """A record as REST shows it: ``attributes`` first, then the fields asked for (all)."""
    out: dict[str, Any] = {
        "attributes": {"type": schema.name, "url": record_url(version, schema, record["Id"])}
    }
    for name in fields or schema.names:
        spec = schema.field(name)
        if spec is not None:
            out[spec.name] = render_value(spec, record.get(spec.name))
    return out


def is_object(name: str, schema: ObjectSchema) -> bool:
    """sObject names in URLs are case-insensitive."""
    return name.lower() == schema.name.lower()


#: What :func:`json_body` returns after it answered a body that is not JSON.
INVALID = object()


def json_body(req: falcon.Request, resp: falcon.Response) -> Any:
    """The parsed body, or :data:`INVALID` after answering 400 ``JSON_PARSER_ERROR``."""
    try:
        return json.loads(read_body(req) or b"null")
    except (ValueError, UnicodeDecodeError):
        rest_error(resp, 400, "JSON_PARSER_ERROR", "Unexpected character in request body")
        return INVALID
