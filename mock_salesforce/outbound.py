"""Rendering an outbound message with the contract's own generated classes.

The payload is the record's state when the message is *sent* (not when it was queued),
as Salesforce does; a deleted record goes out with no data but its Id. Fields are the
ones the outbound message's definition lists (the workflow's ``fields``), or, for a
definition without them, the ones the contract's ``Opportunity`` type declares; ``Id``
always.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lxml import etree
from xsdata.formats.dataclass.models.generics import DerivedElement
from xsdata.models.datatype import XmlDate, XmlDateTime

from gateway.bindings.binder import ContractBinder
from gateway.namespaces import ENTERPRISE_SOBJECT, OUTBOUND_MESSAGE
from gateway.soap import envelope

_binders: dict[str, ContractBinder] = {}


def binder_for(contract: str) -> ContractBinder:
    binder = _binders.get(contract)
    if binder is None:
        binder = _binders[contract] = ContractBinder(f"generated.{contract}")
    return binder


def _opportunity_class(binder: ContractBinder) -> type[Any]:
    return binder.type_class(f"{{{ENTERPRISE_SOBJECT}}}Opportunity")


def contract_fields(contract: str) -> list[str]:
    """The API names of the fields the contract's ``Opportunity`` carries (Id first)."""
    cls = _opportunity_class(binder_for(contract))
    return [
        f.metadata.get("name", f.name)
        for f in dataclasses.fields(cls)
        if f.name != "fields_to_null"
    ]


def _as_datetime(value: Any) -> XmlDateTime:
    """A stored date and time (epoch seconds, or ISO text) as Salesforce writes it."""
    if isinstance(value, int | float):
        moment = dt.datetime.fromtimestamp(float(value), dt.UTC)
    else:
        moment = dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)
    return XmlDateTime.from_datetime(moment.replace(microsecond=0))


def _as_date(value: Any) -> XmlDate:
    return XmlDate.from_date(dt.date.fromisoformat(str(value)[:10]))


_CONVERTERS: dict[Any, Callable[[Any], Any]] = {
    XmlDateTime: _as_datetime,
    XmlDate: _as_date,
    bool: bool,  # a checkbox is stored as 0/1
}


_converters: dict[type[Any], dict[str, Callable[[Any], Any]]] = {}


def field_converters(cls: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """API name -> how a stored value becomes the value of the type the contract
    declares for that field (by the generated class's annotations, so a custom Date,
    DateTime or Checkbox field is written as Salesforce writes it, whatever its name)."""
    known = _converters.get(cls)
    if known is not None:
        return known
    hints = typing.get_type_hints(cls)
    converters = {}
    for f in dataclasses.fields(cls):
        declared = set(typing.get_args(hints[f.name])) or {hints[f.name]}
        for target, convert in _CONVERTERS.items():
            if target in declared:
                converters[f.metadata.get("name", f.name)] = convert
    _converters[cls] = converters
    return converters


def render_message(
    *,
    contract: str,
    org_id: str,
    action_id: str,
    session_id: str | None,
    enterprise_url: str,
    partner_url: str,
    notifications: Sequence[tuple[str, str]],
    records: Mapping[str, Mapping[str, Any]],
    fields: Sequence[str] | None = None,
) -> bytes:
    """A SOAP 1.1 envelope for ``notifications``: [(notification id, record id)];
    ``fields``: the API names to send (None: every field of the contract)."""
    sent = None if fields is None else {name.lower() for name in fields}
    binder = binder_for(contract)
    opportunity_cls = _opportunity_class(binder)
    converters = field_converters(opportunity_cls)
    notification_cls = binder.type_class(f"{{{OUTBOUND_MESSAGE}}}OpportunityNotification")
    notifications_cls = binder.element_class(f"{{{OUTBOUND_MESSAGE}}}notifications")
    items = []
    deleted: list[int] = []
    for index, (notification_id, record_id) in enumerate(notifications):
        record = records.get(record_id)
        kwargs: dict[str, Any] = {"id": record_id}
        if record is None or record.get("IsDeleted"):
            deleted.append(index)
        else:
            for f in dataclasses.fields(opportunity_cls):
                api = f.metadata.get("name", f.name)
                if f.name in ("id", "fields_to_null") or api not in record:
                    continue
                if sent is not None and api.lower() not in sent:
                    continue
                value = record[api]
                convert = converters.get(api)
                kwargs[f.name] = value if value is None or convert is None else convert(value)
        sobject = opportunity_cls(**kwargs)
        items.append(
            notification_cls(
                id=notification_id,
                # Salesforce always writes xsi:type="sf:Opportunity" on sObject.
                s_object=DerivedElement(
                    qname=f"{{{OUTBOUND_MESSAGE}}}sObject",
                    value=sobject,
                    type=f"{{{ENTERPRISE_SOBJECT}}}Opportunity",
                ),
            )
        )
    message = notifications_cls(
        organization_id=org_id,
        action_id=action_id,
        session_id=session_id,
        enterprise_url=enterprise_url,
        partner_url=partner_url,
        notification=items,
    )
    rendered = binder.render(message)
    if deleted or sent is not None:
        rendered = _strip(rendered, set(deleted), sent)
    return envelope(rendered)


def _strip(rendered: bytes, deleted: set[int], sent: set[str] | None) -> bytes:
    """Leave out what is not sent: a deleted record's data but its Id, and fields the
    message does not list (xsdata would write every nillable field as ``xsi:nil``, which
    would claim the fields are empty)."""
    root = etree.fromstring(rendered)
    for index, sobject in enumerate(root.iter(f"{{{OUTBOUND_MESSAGE}}}sObject")):
        for child in list(sobject):
            name = etree.QName(child).localname
            if name == "Id":
                continue
            if index in deleted or (sent is not None and name.lower() not in sent):
                sobject.remove(child)
    return etree.tostring(root)
