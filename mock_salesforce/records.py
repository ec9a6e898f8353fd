"""What a save may write onto an Opportunity, checked the way Salesforce checks it (pure).

The REST, SOAP, Apex and admin shells all call :func:`validate_changes` with the org's
schema (standard fields plus the bundle's custom fields, :mod:`mock_salesforce.schema`),
so a bad field gets the same status code whichever API the caller uses. Values are first
read as the API delivers them (:mod:`mock_salesforce.values`), then held to the field's
rules: ``STRING_TOO_LONG`` past its length, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``
for a value outside a restricted picklist, ``MALFORMED_ID`` for a lookup that is not an
id of its object, ``REQUIRED_FIELD_MISSING`` for a required field left empty. Uniqueness
needs the other records and is :mod:`mock_salesforce.updates`'s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import sfid
from mock_salesforce import values
from mock_salesforce.schema import KEY_PREFIXES, FieldSpec, ObjectSchema


@dataclass(frozen=True)
class ApiError:
    """One Salesforce error: ``statusCode`` in SaveResults, ``errorCode`` at top level."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def rest(self, key: str = "errorCode") -> dict[str, object]:
        body: dict[str, object] = {"message": self.message, key: self.status_code}
        if self.fields or key == "statusCode":
            body["fields"] = list(self.fields)
        return body


@dataclass
class Validated:
    changes: dict[str, object] = field(default_factory=dict)
    errors: list[ApiError] = field(default_factory=list)


def check_id(value: object, prefix: str = "006", label: str = "Opportunity ID") -> ApiError | None:
    """MALFORMED_ID unless ``value`` is a well-formed id of the right object."""
    if not isinstance(value, str) or not sfid.is_valid(value) or not value.startswith(prefix):
        return ApiError("MALFORMED_ID", f"{label}: id value of incorrect type: {value}", ("Id",))
    return None


def validate_changes(
    changes: Mapping[str, object],
    schema: ObjectSchema,
    *,
    source: str = "json",
    creating: bool = False,
) -> Validated:
    """Check a save the way Salesforce does; returns canonical names and any errors.

    Order of checks follows what callers see from a real org: unknown field first
    (INVALID_FIELD), then fields the caller may not write (INVALID_FIELD_FOR_INSERT_UPDATE),
    then each value. ``source`` is ``json`` (REST: a value of the wrong type raises
    :class:`~mock_salesforce.values.JsonValueError` for the whole request) or ``text``
    (SOAP: the record fails with INVALID_TYPE_ON_FIELD_IN_RECORD).
    """
    result = Validated()
    unknown = [name for name in changes if schema.field(name) is None]
    if unknown:
        result.errors.append(
            ApiError(
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on sobject of type {schema.name}",
                tuple(unknown),
            )
        )
        return result
    specs = {name: schema.field(name) for name in changes}
    readonly = [
        spec.name
        for spec in specs.values()
        if spec is not None and not (spec.createable if creating else spec.updateable)
    ]
    if readonly:
        result.errors.append(
            ApiError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {', '.join(readonly)}. Please check the "
                "security settings of this field and verify that it is read/write for your "
                "profile or permission set.",
                tuple(readonly),
            )
        )
        return result
    missing: list[str] = []
    for name, raw in changes.items():
        spec = specs[name]
        if spec is None:  # pragma: no cover - unknown names returned above
            continue
        try:
            value = values.from_json(spec, raw) if source == "json" else values.from_text(spec, raw)  # type: ignore[arg-type]
        except values.TextValueError as error:
            result.errors.append(ApiError(error.code, str(error), (spec.name,)))
            continue
        if value is None and spec.required:
            missing.append(spec.name)
            continue
        refused = _check_value(spec, value)
        if refused is not None:
            result.errors.append(refused)
        else:
            result.changes[spec.name] = _stored(spec, value)
    if creating:
        missing += [f.name for f in schema.fields if f.required and f.name not in result.changes]
    if missing:
        unique = list(dict.fromkeys(missing))
        result.errors.insert(
            0,
            ApiError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(unique)}]",
                tuple(unique),
            ),
        )
    return result


def _check_value(spec: FieldSpec, value: Any) -> ApiError | None:
    if value is None:
        return None
    if spec.kind == "id":
        target = spec.reference_to[0] if spec.reference_to else "Opportunity"
        return check_id(value, KEY_PREFIXES.get(target, ""), spec.label)
    if spec.kind != "string":
        return None
    if spec.type == "picklist" and spec.restricted and value not in spec.picklist:
        return ApiError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{spec.label}: bad value for restricted picklist field: {value}",
            (spec.name,),
        )
    if spec.length and len(value) > spec.length:
        return ApiError(
            "STRING_TOO_LONG",
            f"{spec.label}: data value too large: {value[:40]} (max length={spec.length})",
            (spec.name,),
        )
    return None


def _stored(spec: FieldSpec, value: Any) -> object:
    """How the store keeps a checked value (ids with their 18-character form)."""
    if value is None:
        return None
    if spec.kind == "id":
        return sfid.to18(str(value))
    if spec.kind == "boolean":
        return int(bool(value))
    return value


def iso_datetime(epoch: float | None) -> str | None:
    """Salesforce's REST datetime format: ``2026-03-02T09:14:27.000+0000``."""
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def render_value(spec: FieldSpec, value: Any) -> Any:
    """A stored value as REST JSON shows it (datetimes as text, checkboxes as booleans)."""
    if value is None:
        return False if spec.kind == "boolean" else None
    if spec.kind == "datetime":
        return iso_datetime(float(value))
    if spec.kind == "boolean":
        return bool(value)
    return value
