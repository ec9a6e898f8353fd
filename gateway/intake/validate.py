"""Deciding whether a bound message is accepted: pure functions, no sockets, no clock.

The shell (``gateway.intake.app``) parses and binds the XML, then asks
:func:`validate_notifications` for either the jobs to enqueue or a :class:`Rejection`
whose ``reason`` is safe to send to Salesforce as a ``faultstring`` (it names the
problem, never echoes a secret or an internal detail). Keeping this pure lets the rules
be tested exhaustively without a server.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from gateway import sfid
from gateway.bindings.shape import MAX_NOTIFICATIONS, OutboundMessageShape
from gateway.jobs import FieldValue, NotificationJob
from gateway.namespaces import OUTBOUND_MESSAGE, XSI


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
    #: the record's type: its XML name (``Shipment__c``) and qualified name
    object_name: str
    object_qname: str
    #: the generated class xsdata binds that type to (``ShipmentC``)
    object_class: type[Any]
    id_fields: frozenset[str]

    @classmethod
    def from_shape(
        cls, name: str, shape: OutboundMessageShape, object_class: type[Any]
    ) -> ContractSpec:
        return cls(
            name=name,
            object_name=shape.object_name,
            object_qname=shape.object_qname,
            object_class=object_class,
            id_fields=frozenset(f.name for f in shape.fields if f.type_label == "ID"),
        )


@dataclass(frozen=True)
class Rules:
    """The allowlists, as 15-character ids (``None`` orgs = any org)."""

    allowed_orgs: tuple[str, ...] | None
    allowed_actions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RawRecord:
    """One ``Notification/sObject`` as it came in, read before binding.

    ``xsi_type`` is the declared type as ``{namespace}local`` (``"?"`` when its prefix
    does not resolve, ``None`` when the attribute is missing): xsdata binds an
    ``sf:Account`` record into the Opportunity class when the elements happen to fit, so
    the declared type must be checked on the XML itself.

    ``values`` maps each field's API name to its text exactly as Salesforce wrote it
    (``2014-05-05T11:47:49.000Z`` keeps its ``.000Z``, ``1.5E3`` stays ``1.5E3``), ``None``
    for ``xsi:nil`` or an empty element (Salesforce itself does not tell an empty text
    field from a null one). A field that was not sent has no key. The record ``Id`` and
    ``fieldsToNull`` are not fields.
    """

    xsi_type: str | None
    values: dict[str, str | None]


_NOT_FIELDS = frozenset({"Id", "fieldsToNull"})
_NIL = f"{{{XSI}}}nil"


def read_records(payload: etree._Element) -> list[RawRecord]:
    """The raw records of a ``notifications`` element, in order (see :class:`RawRecord`).

    Read before binding: xsdata's parser clears the elements it has read. Binding then
    checks every value against the contract's types; the values kept are these texts.
    """
    records: list[RawRecord] = []
    for sobject in payload.iterfind(
        f"{{{OUTBOUND_MESSAGE}}}Notification/{{{OUTBOUND_MESSAGE}}}sObject"
    ):
        raw = sobject.get(_XSI_TYPE)
        xsi_type: str | None = None
        if raw is not None:
            prefix, _, local = raw.strip().rpartition(":")
            namespace = sobject.nsmap.get(prefix or None)
            xsi_type = "?" if namespace is None else f"{{{namespace}}}{local}"
        values: dict[str, str | None] = {}
        for child in sobject:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # comments and processing instructions carry no field
            name = tag.rpartition("}")[2]
            if name in _NOT_FIELDS:
                continue
            nil = child.get(_NIL)
            values[name] = None if nil in ("true", "1") else (child.text or None)
        records.append(RawRecord(xsi_type, values))
    return records


_XSI_TYPE = f"{{{XSI}}}type"


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


def record_fields(
    record: RawRecord, id_fields: frozenset[str]
) -> dict[str, FieldValue] | Rejection:
    """The record's fields by API name, as sent; ids must carry a valid checksum.

    An id field keeps the form it came in (15 or 18 characters): the job carries what
    Salesforce sent, and :func:`gateway.lexical.as_id` normalises where a key is needed.
    """
    for name in id_fields.intersection(record.values):
        value = record.values[name]
        if value is not None and _to18(value) is None:
            return Rejection("bad_id", f"field {name} is not a valid Salesforce id")
    return dict(record.values)


def validate_notifications(  # noqa: PLR0911 - one exit per rule reads best
    bound: Any,
    records: Sequence[RawRecord],
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
    if len(records) != len(notifications):
        return Rejection("wrong_type", "every Notification needs exactly one sObject")
    session = bound.session_id
    sealed = seal(session) if session else None
    jobs: list[NotificationJob] = []
    for position, (notification, raw) in enumerate(zip(notifications, records, strict=True), 1):
        record = notification.s_object
        if raw.xsi_type is not None and raw.xsi_type != contract.object_qname:
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
        fields = record_fields(raw, contract.id_fields)
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
