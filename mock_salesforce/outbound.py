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
from collections.abc import Mapping, Sequence
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


def _value(api_name: str, value: Any) -> Any:
    if value is None:
        return None
    if api_name == "CloseDate":
        return XmlDate.from_date(dt.date.fromisoformat(str(value)))
    if api_name in ("LastModifiedDate", "SystemModstamp", "CreatedDate"):
        moment = dt.datetime.fromtimestamp(float(value), dt.UTC).replace(microsecond=0)
        return XmlDateTime.from_datetime(moment)
    return value


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
                kwargs[f.name] = _value(api, record[api])
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
