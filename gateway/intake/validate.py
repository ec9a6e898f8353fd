"""Deciding whether a bound message is accepted: pure functions, no sockets, no clock.

The shell (``gateway.intake.app``) parses and binds the XML, then asks
:func:`validate_notifications` for either the jobs to enqueue or a :class:`Rejection`
whose ``reason`` is safe to send to Salesforce as a ``faultstring`` (it names the
problem, never echoes a secret or an internal detail). Keeping this pure lets the rules
be tested exhaustively without a server.
"""

from __future__ import annotations

import base64
import dataclasses
import decimal
import enum
import hmac
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree
from xsdata.models.datatype import XmlDate, XmlDateTime, XmlDuration, XmlPeriod, XmlTime

from gateway import sfid
from gateway.bindings.shape import SOBJECT_NS, OutboundMessageShape
from gateway.jobs import FieldValue, NotificationJob
from gateway.soap import XSI

MAX_NOTIFICATIONS = 100
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"


@dataclass(frozen=True)
class Rejection:
    """Why a message is refused; ``reason`` becomes the SOAP ``faultstring``.

    ``code`` is a short stable label for metrics (``wrong_org``, ``bad_id``, ...).
    """

    code: str
    reason: str


@dataclass(frozen=True)
class ContractSpec:
    """What validation needs to know about one outbound-message contract."""

    name: str
    object_name: str
    object_class: type[Any]
    id_fields: frozenset[str]

    @classmethod
    def from_shape(
        cls, name: str, shape: OutboundMessageShape, object_class: type[Any]
    ) -> ContractSpec:
        return cls(
            name=name,
            object_name=shape.object_name,
            object_class=object_class,
            id_fields=frozenset(f.name for f in shape.fields if f.type_label == "ID"),
        )

    @property
    def object_qname(self) -> str:
        return f"{{{SOBJECT_NS}}}{self.object_name}"


@dataclass(frozen=True)
class Rules:
    """The allowlists, as 15-character ids (``None`` orgs = any org)."""

    allowed_orgs: tuple[str, ...] | None
    allowed_actions: tuple[str, ...] = ()


def sobject_types(payload: etree._Element) -> list[str | None]:
    """The raw ``xsi:type`` of each ``Notification/sObject`` as ``{namespace}local``.

    xsdata binds an ``sf:Account`` record into the Opportunity class when the elements
    happen to fit, so the declared type must be checked on the XML itself. An unresolvable
    prefix gives ``"?"`` (always rejected); a missing attribute gives ``None``.
    """
    types: list[str | None] = []
    for sobject in payload.iterfind(f"{{{OUTBOUND_NS}}}Notification/{{{OUTBOUND_NS}}}sObject"):
        raw = sobject.get(f"{{{XSI}}}type")
        if raw is None:
            types.append(None)
            continue
        prefix, _, local = raw.strip().rpartition(":")
        namespace = sobject.nsmap.get(prefix or None)
        types.append("?" if namespace is None else f"{{{namespace}}}{local}")
    return types


def _to18(value: str | None) -> str | None:
    """The 18-character form, or None when ``value`` is not a valid id (one pass)."""
    try:
        return sfid.to18(value or "")
    except sfid.InvalidSalesforceId:
        return None


def _in_allowlist(value15: str, allowed: Sequence[str]) -> bool:
    """Constant-time membership: every entry is compared, no early exit."""
    found = False
    for candidate in allowed:
        found |= hmac.compare_digest(value15.encode(), candidate.encode())
    return found


def _json_value_slow(value: object) -> FieldValue:  # noqa: PLR0911 - one branch per XML type
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, XmlDate | XmlDateTime | XmlTime | XmlDuration | XmlPeriod):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    return str(value)


def _identity(value: Any) -> FieldValue:
    return value  # type: ignore[no-any-return]


#: The exact types a bound field value usually has, mapped to their conversion: one dict
#: lookup instead of a chain of ``isinstance`` checks for every field of every record.
_JSON_BY_TYPE: dict[type, Callable[[Any], FieldValue]] = {
    type(None): _identity,
    str: _identity,
    bool: _identity,
    int: _identity,
    float: _identity,
    XmlDate: str,
    XmlDateTime: str,
    XmlTime: str,
    decimal.Decimal: str,
}


def json_value(value: object) -> FieldValue:
    """A bound field value as a JSON-native value (dates in their XML lexical form)."""
    convert = _JSON_BY_TYPE.get(type(value))
    return convert(value) if convert is not None else _json_value_slow(value)


@dataclass(frozen=True)
class _FieldPlan:
    """How to read one field of a generated record class (computed once per class)."""

    attribute: str
    api_name: str
    is_id: bool


_PLANS: dict[tuple[type[Any], frozenset[str]], tuple[_FieldPlan, ...]] = {}


def _field_plan(record_class: type[Any], id_fields: frozenset[str]) -> tuple[_FieldPlan, ...]:
    """The record's fields by API name, ``Id`` and ``fieldsToNull`` excluded.

    Cached per (generated class, id fields) -- a handful per process: ``dataclasses.fields``
    plus the metadata lookups cost more than reading the values, 100 times per message.
    """
    cached = _PLANS.get((record_class, id_fields))
    if cached is not None:
        return cached
    plan = []
    for spec in dataclasses.fields(record_class):
        api_name = spec.metadata.get("name", spec.name)
        if api_name in ("Id", "fieldsToNull"):
            continue
        plan.append(_FieldPlan(spec.name, api_name, api_name in id_fields))
    _PLANS[(record_class, id_fields)] = tuple(plan)
    return _PLANS[(record_class, id_fields)]


def record_fields(record: object, id_fields: frozenset[str]) -> dict[str, FieldValue] | Rejection:
    """The record's fields by API name (``Amount``, ``CloseDate``), ``Id`` excluded."""
    values: dict[str, FieldValue] = {}
    for field in _field_plan(type(record), id_fields):
        value = json_value(getattr(record, field.attribute))
        if value == "":
            # xsdata gives None for <x></x> but "" for xsi:nil on a field its metadata
            # does not mark nillable (the generated ID fields): both mean "no value".
            value = None
        if field.is_id and value is not None:
            normalised = _to18(value) if isinstance(value, str) else None
            if normalised is None:
                return Rejection("bad_id", f"field {field.api_name} is not a valid Salesforce id")
            value = normalised
        if isinstance(value, float) and not math.isfinite(value):
            # JSON has no NaN/Infinity; keep the XML lexical form instead.
            value = "NaN" if math.isnan(value) else ("INF" if value > 0 else "-INF")
        values[field.api_name] = value
    return values


def validate_notifications(  # noqa: PLR0911 - one exit per rule reads best
    bound: Any,
    raw_types: Sequence[str | None],
    contract: ContractSpec,
    rules: Rules,
    *,
    received_at: str,
    seal: Callable[[str], str | None],
) -> list[NotificationJob] | Rejection:
    """Jobs for every notification of an accepted message, or why it is rejected.

    ``seal`` turns a SessionId into what may be stored (encrypted) or ``None`` (dropped);
    it is injected so this function stays deterministic in tests.
    """
    org = _to18(bound.organization_id)
    if org is None:
        return Rejection("bad_id", "OrganizationId is not a valid Salesforce id")
    org15 = org[:15]
    if rules.allowed_orgs is not None and not _in_allowlist(org15, rules.allowed_orgs):
        return Rejection("wrong_org", "OrganizationId is not allowed on this gateway")
    action = _to18(bound.action_id)
    if action is None:
        return Rejection("bad_id", "ActionId is not a valid Salesforce id")
    if rules.allowed_actions and not _in_allowlist(action[:15], rules.allowed_actions):
        return Rejection("wrong_action", "ActionId is not allowed on this gateway")
    notifications = list(bound.notification)
    if not 1 <= len(notifications) <= MAX_NOTIFICATIONS:
        return Rejection(
            "bad_count",
            f"a message must carry 1 to {MAX_NOTIFICATIONS} notifications, "
            f"this one has {len(notifications)}",
        )
    if len(raw_types) != len(notifications):
        return Rejection("wrong_type", "every Notification needs exactly one sObject")
    session = bound.session_id
    sealed = seal(session) if session else None
    jobs: list[NotificationJob] = []
    for position, (notification, raw_type) in enumerate(
        zip(notifications, raw_types, strict=True), start=1
    ):
        record = notification.s_object
        if raw_type is not None and raw_type != contract.object_qname:
            return Rejection(
                "wrong_type",
                f"notification {position}: sObject xsi:type must be {contract.object_name}",
            )
        if type(record) is not contract.object_class:
            return Rejection(
                "wrong_type",
                f"notification {position}: sObject must be a {contract.object_name}",
            )
        notification_id = _to18(notification.id)
        if notification_id is None:
            return Rejection("bad_id", f"notification {position}: Id is not a valid Salesforce id")
        # A record deleted before delivery comes as an sObject without an Id. It is
        # accepted (Salesforce would otherwise retry it for 24 hours) and the pipeline parks
        # it as a dead letter with that reason, so it stays visible.
        record_id = None if record.id is None else _to18(record.id)
        if record.id is not None and record_id is None:
            return Rejection(
                "bad_id", f"notification {position}: sObject Id is not a valid Salesforce id"
            )
        fields = record_fields(record, contract.id_fields)
        if isinstance(fields, Rejection):
            return Rejection(fields.code, f"notification {position}: {fields.reason}")
        jobs.append(
            NotificationJob(
                contract=contract.name,
                organization_id=org,
                action_id=action,
                notification_id=notification_id,
                object_type=contract.object_name,
                record_id=record_id,
                fields=fields,
                enterprise_url=bound.enterprise_url or "",
                partner_url=bound.partner_url or "",
                session_id_encrypted=sealed,
                received_at=received_at,
            )
        )
    return jobs
