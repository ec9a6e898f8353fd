"""The sObject resources of the REST API: a record (get, update, delete), create, the
rows of an external id (get, upsert) and sObject Collections update.

Each follows Salesforce's REST API Developer Guide: PATCH answers 204; create 201 with
``{"id", "success", "errors"}``; an upsert 201 (created) or 200 (updated, API 46.0 and
later; 204 before) with ``created``, and 300 with the matching records' URLs when the
external id matches more than one; Collections 200 with one SaveResult per record, a
record whose ``attributes.type`` is not the object of its id failing with
``MALFORMED_ID``. Values of the wrong JSON type fail the whole request with 400
``JSON_PARSER_ERROR`` (:mod:`mock_salesforce.values`).
"""

from __future__ import annotations

from typing import Any

import falcon

from gateway import sfid
from mock_salesforce.org import Org
from mock_salesforce.records import ApiError, check_id
from mock_salesforce.rest import (
    INVALID,
    NOT_FOUND,
    is_object,
    json_body,
    record_url,
    rest_error,
    rest_record,
)
from mock_salesforce.schema import KEY_PREFIXES
from mock_salesforce.updates import MAX_RECORDS, SaveResult, create, save
from mock_salesforce.values import JsonValueError

#: From this version an upsert that updates answers 200 with a body (204 before).
UPSERT_BODY_SINCE = 46
NOT_ALLOWED = "HTTP Method 'POST' not allowed. Allowed are GET,PATCH,DELETE,HEAD"


def _errors(resp: falcon.Response, status: int, errors: list[ApiError]) -> None:
    resp.status = falcon.code_to_http_status(status)
    resp.media = [e.rest() for e in errors]


def _object_body(req: falcon.Request, resp: falcon.Response, name: str) -> dict[str, Any] | None:
    body = json_body(req, resp)
    if body is INVALID:
        return None
    if not isinstance(body, dict):
        rest_error(
            resp,
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of {name} from a value that is not an object",
        )
        return None
    body.pop("attributes", None)
    return body


class _SObject:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def _known(self, resp: falcon.Response, sobject: str) -> bool:
        if not is_object(sobject, self.org.schema):
            rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
            return False
        return True


class SObjectRoot(_SObject):
    """``/sobjects/Opportunity``: basic information (GET) and create (POST)."""

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, sobject: str
    ) -> None:
        from mock_salesforce.rest_describe import sobject_summary

        if self._known(resp, sobject):
            resp.media = {
                "objectDescribe": sobject_summary(self.org.schema, version),
                "recentItems": [],
            }

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, version: str, sobject: str
    ) -> None:
        body = _object_body(req, resp, self.org.schema.name) if self._known(resp, sobject) else None
        if body is None:
            return
        try:
            result = create(self.org.store, self.org.schema, body)
        except JsonValueError as error:
            rest_error(resp, 400, error.code, str(error))
            return
        if not result.success:
            _errors(resp, 400, result.errors)
            return
        resp.status = falcon.HTTP_201
        resp.media = {"id": result.id, "success": True, "errors": []}


class RecordResource(_SObject):
    """``/sobjects/Opportunity/{id}``: GET, PATCH (or POST ``?_HttpMethod=PATCH``), DELETE.

    Falcon passes the route's fields by name: ``version``, ``sobject`` and ``ref`` (the
    record's id; the name is shared with :class:`ExternalIdResource`'s field name)."""

    def _record(self, resp: falcon.Response, oid: str) -> dict[str, Any] | None:
        record = None if check_id(oid) is not None else self.org.store.get(sfid.to18(oid))
        if record is None:
            rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
        elif record["IsDeleted"]:
            rest_error(resp, 404, "ENTITY_IS_DELETED", "entity is deleted")
            return None
        return record

    def on_get(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        known = self._known(resp, route["sobject"])
        record = self._record(resp, route["ref"]) if known else None
        if record is None:
            return
        fields = None
        if req.get_param("fields"):
            fields = []
            for name in req.get_param("fields", default="").split(","):
                spec = self.org.schema.field(name.strip())
                if spec is None:
                    message = f"No such column '{name.strip()}' on sobject of type Opportunity"
                    rest_error(resp, 400, "INVALID_FIELD", message)
                    return
                fields.append(spec.name)
        resp.media = rest_record(record, route["version"], self.org.schema, fields)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        known = self._known(resp, route["sobject"])
        body = _object_body(req, resp, self.org.schema.name) if known else None
        if body is None:
            return
        oid = route["ref"]
        if check_id(oid) is not None:
            message = f"Opportunity ID: id value of incorrect type: {oid}"
            rest_error(resp, 400, "MALFORMED_ID", message, ["Id"])
            return
        if self.org.store.get(sfid.to18(oid)) is None:
            rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
            return
        if _save_one(self.org, resp, oid, body) is not None:
            resp.status = falcon.HTTP_204

    def on_post(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        if req.get_param("_HttpMethod", default="").upper() == "PATCH":
            self.on_patch(req, resp, **route)
            return
        rest_error(resp, 405, "METHOD_NOT_ALLOWED", NOT_ALLOWED)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        known = self._known(resp, route["sobject"])
        record = self._record(resp, route["ref"]) if known else None
        if record is not None:
            self.org.store.delete(record["Id"])
            resp.status = falcon.HTTP_204


def _save_one(org: Org, resp: falcon.Response, oid: str, body: dict[str, Any]) -> SaveResult | None:
    """One record saved as a single-record request: its first error answered as the
    request's (400; 404 for a deleted record), else the SaveResult."""
    try:
        [result] = save(org.store, org.schema, [(oid, body)], all_or_none=True, rng=org.rng)
    except JsonValueError as error:
        rest_error(resp, 400, error.code, str(error))
        return None
    if not result.success:
        first = result.errors[0]
        status = 404 if first.status_code == "ENTITY_IS_DELETED" else 400
        rest_error(resp, status, first.status_code, first.message, list(first.fields))
        return None
    return result


class ExternalIdResource(_SObject):
    """``/sobjects/Opportunity/{field}/{value}``: the record(s) of an external id (GET)
    and upsert (PATCH, or POST ``?_HttpMethod=PATCH``); the field is the route's ``ref``."""

    def _matches(self, resp: falcon.Response, route: dict[str, str]) -> list[str] | None:
        if not self._known(resp, route["sobject"]):
            return None
        name, value = route["ref"], route["value"]
        spec = self.org.schema.field(name)
        if spec is None or not (spec.external_id or spec.name == "Id"):
            message = f"Provided external ID field does not exist or is not accessible: {name}"
            rest_error(resp, 404, "NOT_FOUND", message)
            return None
        if spec.name == "Id":
            found = self.org.store.get(sfid.to18(value)) if check_id(value) is None else None
            return [found["Id"]] if found and not found["IsDeleted"] else []
        matches = self.org.store.find_ids(spec, value)
        if len(matches) > 1:
            resp.status = falcon.code_to_http_status(300)
            resp.media = [record_url(route["version"], self.org.schema, oid) for oid in matches]
            return None
        return matches

    def on_get(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        matches = self._matches(resp, route)
        if matches is None:
            return
        record = self.org.store.get(matches[0]) if matches else None
        if record is None:
            rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
            return
        resp.media = rest_record(record, route["version"], self.org.schema)

    def on_patch(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        matches = self._matches(resp, route)
        body = _object_body(req, resp, self.org.schema.name) if matches is not None else None
        if matches is None or body is None:
            return
        if matches:
            self._update(resp, route["version"], matches[0], body)
            return
        spec = self.org.schema.field(route["ref"])
        if spec is not None and spec.name != "Id":
            body[spec.name] = route["value"]
        try:
            created = create(self.org.store, self.org.schema, body)
        except JsonValueError as error:
            rest_error(resp, 400, error.code, str(error))
            return
        if not created.success:
            _errors(resp, 400, created.errors)
            return
        resp.status = falcon.HTTP_201
        resp.media = {"id": created.id, "success": True, "errors": [], "created": True}

    def _update(self, resp: falcon.Response, version: str, oid: str, body: dict[str, Any]) -> None:
        if _save_one(self.org, resp, oid, body) is None:
            return
        if int(float(version[1:])) < UPSERT_BODY_SINCE:
            resp.status = falcon.HTTP_204
            return
        resp.media = {"id": oid, "success": True, "errors": [], "created": False}

    def on_post(self, req: falcon.Request, resp: falcon.Response, **route: str) -> None:
        if req.get_param("_HttpMethod", default="").upper() == "PATCH":
            self.on_patch(req, resp, **route)
            return
        rest_error(resp, 405, "METHOD_NOT_ALLOWED", NOT_ALLOWED)


def _type_error(record_type: str, raw_id: object, object_name: str) -> ApiError | None:
    """A record of Collections whose ``attributes.type`` is not the object of its id."""
    named = next((name for name in KEY_PREFIXES if name.lower() == record_type.lower()), None)
    if named is None:
        return ApiError("INVALID_TYPE", f"sObject type '{record_type}' is not supported.")
    if not isinstance(raw_id, str) or not raw_id.startswith(KEY_PREFIXES[named]):
        return ApiError(
            "MALFORMED_ID", f"{named} ID: id value of incorrect type: {raw_id}", ("Id",)
        )
    if named != object_name:
        # The mock org holds no records of other objects.
        return ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    return None


class CollectionResource:
    """``/composite/sobjects``: update up to 200 records (PATCH)."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_patch(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        body = json_body(req, resp)
        if body is INVALID:
            return
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            message = "records: a non-empty array of sObjects is required"
            rest_error(resp, 400, "JSON_PARSER_ERROR", message)
            return
        if len(records) > MAX_RECORDS:
            message = "record limit reached. cannot submit more than 200 records into this call"
            rest_error(resp, 400, "EXCEEDED_ID_LIMIT", message)
            return
        items: list[tuple[object, dict[str, object]]] = []
        refused: dict[int, ApiError] = {}
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                rest_error(resp, 400, "JSON_PARSER_ERROR", "each record must be an object")
                return
            fields = dict(record)
            attributes = fields.pop("attributes", None)
            if not isinstance(attributes, dict) or not attributes.get("type"):
                rest_error(resp, 400, "INVALID_TYPE", "Must send a concrete entity type.")
                return
            raw_id = fields.pop("id", fields.pop("Id", None))
            wrong = _type_error(str(attributes["type"]), raw_id, self.org.schema.name)
            if wrong is not None:
                refused[index] = wrong
            items.append((raw_id, fields))
        try:
            results = save(
                self.org.store,
                self.org.schema,
                items,
                refused=refused,
                all_or_none=bool(body.get("allOrNone", False)),
                rng=self.org.rng,
            )
        except JsonValueError as error:
            rest_error(resp, 400, error.code, str(error))
            return
        resp.media = [r.rest() for r in results]
