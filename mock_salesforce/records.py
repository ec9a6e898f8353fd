"""The Opportunity object as the org sees it: fields, stages and update validation.

Pure functions only. The REST, SOAP and admin shells all call :func:`validate_changes`
so that a bad field gets the same Salesforce status code whichever API the caller uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway import sfid

WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Negotiation/Review")


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: str  # id, string, double, date, datetime, boolean
    updateable: bool
    max_length: int | None = None
    label: str = ""


FIELDS: tuple[FieldDef, ...] = (
    FieldDef("Id", "id", False),
    FieldDef("AccountId", "id", True, label="Account ID"),
    FieldDef("Amount", "double", True),
    FieldDef("CloseDate", "date", True, label="Close Date"),
    FieldDef("IsClosed", "boolean", False),
    FieldDef("IsWon", "boolean", False),
    FieldDef("LastModifiedDate", "datetime", False),
    FieldDef("Name", "string", True, 120, "Name"),
    FieldDef("Order_Number__c", "string", True, 80, "Order Number"),
    FieldDef("Order_Status__c", "string", True, 40, "Order Status"),
    FieldDef("StageName", "string", True, 255, "Stage"),
    FieldDef("SystemModstamp", "datetime", False),
    FieldDef("CreatedDate", "datetime", False),
)
FIELD_BY_LOWER = {f.name.lower(): f for f in FIELDS}


def canonical_field(name: str) -> FieldDef | None:
    """Salesforce field names are case-insensitive."""
    return FIELD_BY_LOWER.get(name.lower())


def stage_flags(stage: str | None) -> tuple[bool, bool]:
    """(IsClosed, IsWon) for a stage, as the OpportunityStage mapping sets them."""
    return (stage in (WON_STAGE, LOST_STAGE), stage == WON_STAGE)


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


def validate_changes(changes: Mapping[str, object]) -> Validated:
    """Check an update the way Salesforce does; returns canonical names and any errors.

    Order of checks follows what callers see from a real org: unknown field first
    (INVALID_FIELD), then read-only fields (INVALID_FIELD_FOR_INSERT_UPDATE), then values
    (STRING_TOO_LONG, MALFORMED_ID on lookups, type errors).
    """
    result = Validated()
    unknown = [name for name in changes if canonical_field(name) is None]
    if unknown:
        result.errors.append(
            ApiError(
                "INVALID_FIELD",
                f"No such column '{unknown[0]}' on sobject of type Opportunity",
                tuple(unknown),
            )
        )
        return result
    readonly = [canonical_field(n).name for n in changes if not canonical_field(n).updateable]  # type: ignore[union-attr]
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
    for name, value in changes.items():
        spec = canonical_field(name)
        if spec is None:  # pragma: no cover - unknown names returned above
            continue
        error = _check_value(spec, value)
        if error is not None:
            result.errors.append(error)
        else:
            result.changes[spec.name] = _normalise(spec, value)
    return result


def _check_value(spec: FieldDef, value: object) -> ApiError | None:  # noqa: PLR0911
    if value is None:
        if spec.name in ("Name", "StageName", "CloseDate"):
            return ApiError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{spec.name}]",
                (spec.name,),
            )
        return None
    if spec.kind == "string":
        if not isinstance(value, str):
            return ApiError(
                "FIELD_INTEGRITY_EXCEPTION", f"{spec.label or spec.name}: bad value", (spec.name,)
            )
        if spec.max_length is not None and len(value) > spec.max_length:
            return ApiError(
                "STRING_TOO_LONG",
                f"{spec.label or spec.name}: data value too large: {value[:40]} "
                f"(max length={spec.max_length})",
                (spec.name,),
            )
    elif spec.kind == "id":
        return check_id(value, "001", "Account ID")
    elif spec.kind == "double":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return ApiError("FIELD_INTEGRITY_EXCEPTION", f"{spec.name}: not a number", (spec.name,))
        try:
            float(value)
        except ValueError:
            return ApiError("FIELD_INTEGRITY_EXCEPTION", f"{spec.name}: not a number", (spec.name,))
    elif spec.kind == "date":
        try:
            dt.date.fromisoformat(str(value))
        except ValueError:
            return ApiError(
                "FIELD_INTEGRITY_EXCEPTION", f"{spec.name}: invalid date: {value}", (spec.name,)
            )
    return None


def _normalise(spec: FieldDef, value: object) -> object:
    if value is None:
        return None
    if spec.kind == "double":
        return float(value)  # type: ignore[arg-type]
    if spec.kind == "id":
        return sfid.to18(str(value))
    return str(value)


def iso_datetime(epoch: float | None) -> str | None:
    """Salesforce's REST datetime format: ``2026-03-02T09:14:27.000+0000``."""
    if epoch is None:
        return None
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
