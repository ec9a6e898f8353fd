"""Outbound messages for any contract, written as Salesforce writes them, and hypothesis
strategies that draw them from the contract's own shape.

This is the generator behind ``sfgw bindings test``: every field type a Salesforce
outbound-message WSDL can declare gets values in the lexical forms Salesforce (or any
valid XSD writer) may use -- ``120000.0`` and ``1.2E5``, ``2014-05-05T11:47:49.000Z``,
15- and 18-character ids -- plus ``xsi:nil`` and omitted elements. Messages are text,
not xsdata objects, so what goes on the wire is exactly what the test later expects to
find in the queued jobs.
"""

from __future__ import annotations

import base64
import datetime as dt
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from gateway import sfid
from gateway.bindings.shape import FieldSpec, OutboundMessageShape
from gateway.namespaces import ENTERPRISE, OUTBOUND_MESSAGE, SOAP11_ENVELOPE, XSD, XSI

_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Notification:
    notification_id: str
    #: ``None``: the record was deleted before delivery (an sObject without an Id)
    record_id: str | None
    #: API name -> the text sent, ``None`` for ``xsi:nil``; omitted fields have no key
    fields: dict[str, str | None] = field(default_factory=dict)
    #: the ``xsi:type`` local name; ``None`` writes the contract's object type
    xsi_type: str | None = None
    #: raw XML appended inside the sObject (mutations only)
    extra_xml: str = ""


@dataclass(frozen=True)
class Message:
    """One outbound message, as plain values; :meth:`xml` writes the SOAP envelope."""

    shape: OutboundMessageShape
    organization_id: str
    action_id: str
    notifications: tuple[Notification, ...]

    def xml(self) -> bytes:
        shape = self.shape
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" '
            f'xmlns:xsd="{XSD}" xmlns:xsi="{XSI}">',
            f'<soapenv:Body><notifications xmlns="{OUTBOUND_MESSAGE}">',
            f"<OrganizationId>{self.organization_id}</OrganizationId>",
            f"<ActionId>{self.action_id}</ActionId>",
            '<SessionId xsi:nil="true"/>',
            "<EnterpriseUrl>https://sfgw-test.my.salesforce.com/services/Soap/c/62.0/"
            f"{self.organization_id[:15]}</EnterpriseUrl>",
            "<PartnerUrl>https://sfgw-test.my.salesforce.com/services/Soap/u/62.0/"
            f"{self.organization_id[:15]}</PartnerUrl>",
        ]
        for item in self.notifications:
            xsi_type = item.xsi_type or shape.object_name
            parts.append(f"<Notification><Id>{item.notification_id}</Id>")
            parts.append(f'<sObject xsi:type="sf:{xsi_type}" xmlns:sf="{shape.object_namespace}">')
            if item.record_id is not None:
                parts.append(f"<sf:Id>{item.record_id}</sf:Id>")
            for name, value in item.fields.items():
                if value is None:
                    parts.append(f'<sf:{name} xsi:nil="true"/>')
                else:
                    parts.append(f"<sf:{name}>{escape(value)}</sf:{name}>")
            parts.append(f"{item.extra_xml}</sObject></Notification>")
        parts.append("</notifications></soapenv:Body></soapenv:Envelope>")
        return "".join(parts).encode()

    def with_notifications(self, notifications: tuple[Notification, ...]) -> Message:
        return replace(self, notifications=notifications)


# -- lexical values per XSD type --------------------------------------------------------

#: Text an XML 1.0 document carries unchanged: no C0 controls (tab and newline aside; a
#: carriage return would come back as a newline), no surrogates, no form feed.
xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n"),
    min_size=1,
    max_size=40,
)


def id15(key_prefix: str | None = None) -> st.SearchStrategy[str]:
    length = 15 if key_prefix is None else 12
    body = st.text(_ALNUM, min_size=length, max_size=length)
    return body if key_prefix is None else body.map(lambda tail: key_prefix + tail)


def salesforce_id(key_prefix: str | None = None) -> st.SearchStrategy[str]:
    """A valid id in its 15- or 18-character form (the checksum suffix is always right)."""
    return st.tuples(id15(key_prefix), st.booleans()).map(
        lambda pair: sfid.to18(pair[0]) if pair[1] else pair[0]
    )


def _double() -> st.SearchStrategy[str]:
    finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
    return st.one_of(
        finite.map(repr),  # 120000.0, 1e-05
        finite.map(lambda v: f"{v:.6E}"),  # 1.200000E+05
        st.integers(-(10**12), 10**12).map(str),  # 42
        st.sampled_from(["0.0", "-0.0", "120000.0", "45000.0", "INF", "-INF", "NaN"]),
    )


def _int() -> st.SearchStrategy[str]:
    return st.integers(-(2**31), 2**31 - 1).map(str)


def _long() -> st.SearchStrategy[str]:
    return st.integers(-(2**63), 2**63 - 1).map(str)


def _offset() -> st.SearchStrategy[str]:
    return st.sampled_from(["Z", "", "+00:00", "-05:00", "+05:30"])


def _date() -> st.SearchStrategy[str]:
    days = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
    return st.tuples(days, st.sampled_from(["", "", "Z"])).map(
        lambda p: f"{p[0].isoformat()}{p[1]}"
    )


def _time_of_day(moment: dt.time, fraction: str) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}{fraction}"


_FRACTIONS = st.sampled_from([".000", "", ".5", ".123456"])


def _date_time() -> st.SearchStrategy[str]:
    moments = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))
    return st.tuples(moments, _FRACTIONS, _offset()).map(
        lambda p: f"{p[0].date().isoformat()}T{_time_of_day(p[0].time(), p[1])}{p[2]}"
    )


def _time() -> st.SearchStrategy[str]:
    return st.tuples(st.times(), _FRACTIONS, _offset()).map(
        lambda p: f"{_time_of_day(p[0], p[1])}{p[2]}"
    )


def _base64() -> st.SearchStrategy[str]:
    return st.binary(min_size=1, max_size=48).map(lambda b: base64.b64encode(b).decode())


_XSD_VALUES: dict[str, Callable[[], st.SearchStrategy[str]]] = {
    "string": lambda: xml_text,
    "normalizedString": lambda: xml_text,
    "token": lambda: st.from_regex(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*", fullmatch=True),
    "anyURI": lambda: st.sampled_from(["https://example.com/a", "urn:x:y", "mailto:a@b.c"]),
    "boolean": lambda: st.sampled_from(["true", "false", "1", "0"]),
    "double": _double,
    "float": lambda: st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    "decimal": lambda: st.decimals(allow_nan=False, allow_infinity=False, places=4).map(
        lambda d: format(d, "f")
    ),
    "int": _int,
    "integer": _long,
    "long": _long,
    "short": lambda: st.integers(-(2**15), 2**15 - 1).map(str),
    "date": _date,
    "dateTime": _date_time,
    "time": _time,
    "base64Binary": _base64,
}


def field_values(spec: FieldSpec) -> st.SearchStrategy[str] | None:
    """Valid lexical values for a field, or ``None`` for a type we cannot draw values of
    (the field is then sent only as nil or omitted, and the report says so)."""
    namespace, _, local = spec.type[1:].partition("}")
    if namespace == ENTERPRISE and local == "ID":
        return salesforce_id()
    if namespace == XSD and local in _XSD_VALUES:
        return _XSD_VALUES[local]()
    return None


def unsupported_fields(shape: OutboundMessageShape) -> list[FieldSpec]:
    return [spec for spec in shape.fields if field_values(spec) is None]


# -- messages ---------------------------------------------------------------------------

_OMITTED = object()


def _record_fields(shape: OutboundMessageShape) -> st.SearchStrategy[dict[str, str | None]]:
    """Each field sent with a value, as ``xsi:nil``, or not at all."""
    per_field: dict[str, st.SearchStrategy[object]] = {}
    for spec in shape.fields:
        values = field_values(spec)
        choices: list[st.SearchStrategy[object]] = [st.none(), st.just(_OMITTED)]
        if values is not None:
            choices.insert(0, values)
        per_field[spec.name] = st.one_of(*choices)
    return st.fixed_dictionaries(per_field).map(_sent_fields)


def _sent_fields(drawn: dict[str, object]) -> dict[str, str | None]:
    return {name: value for name, value in drawn.items() if isinstance(value, str | None)}


def notifications(shape: OutboundMessageShape) -> st.SearchStrategy[Notification]:
    return st.builds(
        Notification,
        notification_id=salesforce_id("04l"),
        record_id=st.one_of(salesforce_id(), st.none()),
        fields=_record_fields(shape),
    )


def messages(
    shape: OutboundMessageShape, organization_id: str, *, max_notifications: int = 100
) -> st.SearchStrategy[Message]:
    """Valid messages: 1 to ``max_notifications`` notifications with distinct ids."""
    org = st.sampled_from([sfid.to18(organization_id), sfid.to15(organization_id)])
    return st.builds(
        Message,
        shape=st.just(shape),
        organization_id=org,
        action_id=salesforce_id("04k"),
        notifications=st.lists(
            notifications(shape),
            min_size=1,
            max_size=max_notifications,
            unique_by=lambda n: n.notification_id[:15],
        ).map(tuple),
    )


#: A value of each type in the form Salesforce writes it, for the fixed boundary messages.
TYPICAL: dict[str, str] = {
    "ID": "0017F000007ydJmQAI",
    "string": 'Express <Logistics> & "SLA" \u2013 \u00fcn\u00efc\u00f8d\u00e9',
    "normalizedString": "Express Logistics",
    "token": "Express Logistics",
    "anyURI": "https://example.com/a",
    "boolean": "true",
    "double": "120000.0",
    "float": "1.5",
    "decimal": "120000.50",
    "int": "42",
    "integer": "42",
    "long": "42",
    "short": "42",
    "date": "2017-04-03",
    "dateTime": "2026-03-02T09:14:27.000Z",
    "time": "09:14:27.000Z",
    "base64Binary": base64.b64encode(b"label \x00\xff bytes").decode(),
}


def full_message(shape: OutboundMessageShape, organization_id: str, count: int) -> Message:
    """A message of ``count`` notifications in which every field has a typical value: a
    fixed boundary case (``count`` = 100, or 101 to be refused) beside the random ones."""
    fields = {
        spec.name: TYPICAL.get(spec.type_label) if field_values(spec) is not None else None
        for spec in shape.fields
    }
    items = tuple(
        Notification(
            notification_id=sfid.to18(f"04l{index:012d}"),
            record_id=sfid.to18(f"a00{index:012d}"),
            fields=dict(fields),
        )
        for index in range(count)
    )
    return Message(shape, sfid.to18(organization_id), sfid.to18("04k000000000001"), items)
