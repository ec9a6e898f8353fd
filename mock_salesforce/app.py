"""The mock org's HTTP API (Falcon): OAuth, REST, SOAP Partner and the admin endpoints.

A thin shell: decisions live in :mod:`records`, :mod:`updates`, :mod:`soql`, :mod:`paging`,
:mod:`oauth` and :mod:`partner`; the store is SQLite, so every gunicorn worker sees the
same org, the same sessions, the same API usage and the same injected faults.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from typing import Any

import falcon

from gateway import sfid
from mock_salesforce import paging, partner, soql
from mock_salesforce.oauth import OAuthConfig, OAuthError, check_grant
from mock_salesforce.records import FIELDS, check_id, iso_datetime, validate_changes
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.store import OrgStore
from mock_salesforce.updates import MAX_RECORDS, save

VERSION = re.compile(r"^v\d{2,3}\.\d$")
MAX_BODY = 5 * 1024 * 1024


class Org:
    """What every resource needs: settings, a per-thread store, the OAuth config."""

    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        self.oauth = OAuthConfig.build(
            settings.client_id,
            settings.client_secret,
            settings.username,
            settings.login_url,
            settings.jwt_cert_path,
        )
        self.base_url = (settings.base_url or "http://127.0.0.1").rstrip("/")
        self._local = threading.local()
        self.rng = random.Random()

    @property
    def store(self) -> OrgStore:
        store: OrgStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = OrgStore(self.settings.db_path)
        return store

    def api_limit(self) -> int:
        override = self.store.faults().get("daily_api_limit")
        return int(override) if override else self.settings.daily_api_limit

    def usage_header(self) -> str:
        return f"api-usage={self.store.usage()}/{self.api_limit()}"


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
    """Auth, daily limit, counting and injected 503 for every REST call."""

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
        if (
            scheme.lower() not in ("bearer", "oauth")
            or not token.strip()
            or not self.org.store.touch_session(token.strip(), self.org.settings.session_ttl)
        ):
            rest_error(resp, 401, "INVALID_SESSION_ID", "Session expired or invalid")
            resp.complete = True
            return
        allowed, _ = self.org.store.count_call(self.org.api_limit())
        if not allowed:
            rest_error(resp, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            resp.complete = True
            return
        if self.org.rng.random() < float(
            self.org.store.faults().get("unavailable_probability") or 0
        ):
            rest_error(
                resp,
                503,
                "SERVER_UNAVAILABLE",
                "Server is temporarily unavailable, try again later.",
            )
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


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Token:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        from urllib.parse import parse_qsl

        form = dict(parse_qsl(read_body(req).decode("utf-8", "replace")))
        form.update({k: v for k, v in req.params.items() if isinstance(v, str)})
        self.org.store.count_call(0, kind="token")
        now = time.time()
        try:
            check_grant(form, self.org.oauth, now)
        except OAuthError as error:
            resp.status = falcon.HTTP_400
            resp.media = error.body()
            return
        token = self.org.store.new_session(
            "oauth", self.org.settings.session_ttl, self.org.settings.org_id15, now
        )
        issued = str(int(now * 1000))
        user_id = sfid.to18("0055g00000SfGwA")
        resp.media = {
            "access_token": token,
            "instance_url": self.org.base_url,
            "id": f"{self.org.settings.login_url}/id/{self.org.settings.org_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "scope": "api",
            "signature": hashlib.sha256(f"{issued}{token[:8]}".encode()).hexdigest()[:43],
        }


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


class QueryResource:
    """``GET /query?q=``: the first batch of the result, and a cursor for the rest."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        text = req.get_param("q") or ""
        try:
            query = soql.parse(text)
        except soql.SoqlError as error:
            rest_error(resp, 400, error.code, str(error))
            return
        records = [
            r for r in self.org.store.all_opportunities() if not r["IsDeleted"] and query.matches(r)
        ]
        if query.order_by:
            key = query.order_by
            records.sort(
                key=lambda r: (r.get(key) is None, r.get(key) or 0), reverse=query.descending
            )
        if query.limit is not None:
            records = records[: query.limit]
        rendered = [rest_record(r, version, list(query.fields)) for r in records]
        size = paging.batch_size(req.get_header(paging.HEADER)) or paging.DEFAULT_BATCH_SIZE
        cursor = ""
        if len(rendered) > size:
            cursor = self.org.store.save_cursor(rendered, size, paging.CURSOR_TTL_S)
        resp.media = query_page(rendered, 0, size, version, cursor)


class QueryMoreResource:
    """``GET /query/<locator>-<offset>``: the next batch of a query (its nextRecordsUrl)."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, locator: str
    ) -> None:
        parsed = paging.parse_locator(locator)
        found = None if parsed is None else self.org.store.cursor(parsed[0], paging.CURSOR_TTL_S)
        if parsed is None or found is None or not 0 < parsed[1] < len(found[1]):
            rest_error(resp, 400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return
        cursor, offset = parsed
        size, rendered = found
        size = paging.batch_size(req.get_header(paging.HEADER)) or size
        resp.media = query_page(rendered, offset, size, version, cursor)


def query_page(
    rendered: list[dict[str, Any]], offset: int, size: int, version: str, cursor: str
) -> dict[str, Any]:
    """One reply of the query resource; ``nextRecordsUrl`` only while not ``done``."""
    part = paging.page(len(rendered), offset, size)
    body: dict[str, Any] = {"totalSize": len(rendered), "done": part.next_offset is None}
    if part.next_offset is not None:
        body["nextRecordsUrl"] = paging.next_records_url(version, cursor, part.next_offset)
    body["records"] = rendered[part.start : part.end]
    return body


class LimitsResource:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        limit = self.org.api_limit()
        used = self.org.store.usage()
        resp.media = {"DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)}}


class PartnerResource:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response, version: str, org15: str) -> None:
        status, body = partner.handle(self.org, read_body(req), org15)
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = body


def _to18(oid: str) -> str:
    return sfid.to18(oid)


def _json(req: falcon.Request, resp: falcon.Response) -> Any:
    try:
        return json.loads(read_body(req) or b"null")
    except (ValueError, UnicodeDecodeError):
        rest_error(resp, 400, "JSON_PARSER_ERROR", "Unexpected character in request body")
        return None


def _error_handler(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Errors in Salesforce's shapes: JSON arrays under REST, SOAP faults under SOAP.

    Without this Falcon answers unknown paths and crashes with its own JSON objects,
    which no Salesforce client expects (and SOAP clients cannot parse).
    """
    if isinstance(error, falcon.HTTPError):
        status, message = error.status_code, error.description or error.title or "error"
    else:
        status, message = 500, "An unexpected error occurred. Please include this ErrorId."
    if req.path.startswith("/services/Soap/"):
        resp.status = falcon.HTTP_500
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = partner.fault("UNKNOWN_EXCEPTION", message)
    elif req.path.startswith("/services/data/"):
        if status == 404:
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
        elif status == 405:
            rest_error(resp, 405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed")
        else:
            rest_error(resp, status, "UNKNOWN_EXCEPTION", message)
    elif isinstance(error, falcon.HTTPError):
        resp.status = error.status
        resp.media = error.to_dict()
    else:
        resp.status = falcon.HTTP_500
        resp.media = {"title": "500 Internal Server Error"}


def create_app(settings: SalesforceSettings | None = None) -> falcon.App[Any, Any]:
    from mock_salesforce.admin import register_admin

    settings = settings or SalesforceSettings.from_env()
    org = Org(settings)
    app = falcon.App(middleware=[RestGuard(org)])
    app.add_route("/healthz", Health())
    app.add_route("/services/oauth2/token", Token(org))
    app.add_route("/services/data/{version}/sobjects/Opportunity/{oid}", OpportunityResource(org))
    app.add_route("/services/data/{version}/composite/sobjects", CollectionResource(org))
    app.add_route("/services/data/{version}/query", QueryResource(org))
    app.add_route("/services/data/{version}/query/{locator}", QueryMoreResource(org))
    app.add_route("/services/data/{version}/limits", LimitsResource(org))
    app.add_route("/services/Soap/u/{version}/{org15}", PartnerResource(org))
    register_admin(app, org)
    app.add_error_handler(Exception, _error_handler)
    app.add_error_handler(falcon.HTTPError, _error_handler)
    return app
