"""Building outbound messages as Salesforce sends them, and hypothesis strategies for them.

Messages are written as text (not through xsdata) so tests control exactly what goes on
the wire: 15- or 18-character ids, ``xsi:nil`` fields, omitted fields, other prefixes.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from hypothesis import strategies as st

from gateway import sfid
from gateway.bindings.shape import OutboundMessageShape, read_outbound_shape
from gateway.namespaces import ENTERPRISE_SOBJECT, OUTBOUND_MESSAGE, SOAP11_ENVELOPE
from gateway.settings import PROJECT_ROOT

CONTRACTS = PROJECT_ROOT / "contracts" / "salesforce"

ORG = "00D7F00000107XsUAI"
OTHER_ORG = sfid.to18("00D7F00000999ZZ")
ACTION = "04k7F0000008V3hQAE"
ALNUM = string.ascii_letters + string.digits


def shape(contract: str) -> OutboundMessageShape:
    return read_outbound_shape(CONTRACTS / f"{contract}.wsdl")


@dataclass
class Record:
    notification_id: str
    record_id: str | None
    #: API name -> lexical value, or None for xsi:nil; absent keys are omitted elements.
    fields: dict[str, str | None] = field(default_factory=dict)
    xsi_type: str | None = "sf:Opportunity"


@dataclass
class Message:
    records: list[Record]
    org: str = ORG
    action: str = ACTION
    session_id: str | None = None
    enterprise_url: str = "https://example.my.salesforce.com/services/Soap/c/62.0/00D7F00000107Xs"
    partner_url: str = "https://example.my.salesforce.com/services/Soap/u/62.0/00D7F00000107Xs"
    header: bool = False
    namespace: str = OUTBOUND_MESSAGE

    def xml(self) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
        ]
        if self.header:
            parts.append("<soapenv:Header><h:Trace xmlns:h='urn:x'>1</h:Trace></soapenv:Header>")
        parts.append(f'<soapenv:Body><notifications xmlns="{self.namespace}">')
        parts.append(f"<OrganizationId>{escape(self.org)}</OrganizationId>")
        parts.append(f"<ActionId>{escape(self.action)}</ActionId>")
        if self.session_id is None:
            parts.append('<SessionId xsi:nil="true"/>')
        else:
            parts.append(f"<SessionId>{escape(self.session_id)}</SessionId>")
        parts.append(f"<EnterpriseUrl>{escape(self.enterprise_url)}</EnterpriseUrl>")
        parts.append(f"<PartnerUrl>{escape(self.partner_url)}</PartnerUrl>")
        for record in self.records:
            parts.append(f"<Notification><Id>{escape(record.notification_id)}</Id>")
            type_attr = f' xsi:type="{record.xsi_type}"' if record.xsi_type else ""
            parts.append(f'<sObject{type_attr} xmlns:sf="{ENTERPRISE_SOBJECT}">')
            if record.record_id is not None:
                parts.append(f"<sf:Id>{escape(record.record_id)}</sf:Id>")
            for name, value in record.fields.items():
                if value is None:
                    parts.append(f'<sf:{name} xsi:nil="true"/>')
                else:
                    parts.append(f"<sf:{name}>{escape(value)}</sf:{name}>")
            parts.append("</sObject></Notification>")
        parts.append("</notifications></soapenv:Body></soapenv:Envelope>")
        return "".join(parts).encode()


def make_id(prefix: str, n: int, length: int = 18) -> str:
    id15 = f"{prefix}{n:012d}"[:15]
    return id15 if length == 15 else sfid.to18(id15)


def simple_message(count: int = 1, start: int = 0, **kwargs: object) -> Message:
    records = [
        Record(
            notification_id=make_id("04l", start + i),
            record_id=make_id("006", start + i),
            fields={"Amount": "1000.5", "StageName": "Closed Won"},
        )
        for i in range(count)
    ]
    return Message(records=records, **kwargs)  # type: ignore[arg-type]


# -- hypothesis -----------------------------------------------------------------------

id15 = st.text(ALNUM, min_size=15, max_size=15)


def sf_id(key_prefix: str) -> st.SearchStrategy[str]:
    """A valid id with the given key prefix, in its 15- or 18-character form."""
    body = st.text(ALNUM, min_size=12, max_size=12).map(lambda tail: key_prefix + tail)
    return st.tuples(body, st.booleans()).map(lambda t: sfid.to18(t[0]) if t[1] else t[0])


xml_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n"),
    max_size=30,
)
_dates = st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))
_datetimes = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))


def double_lexical(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


LEXICAL = {
    "ID": sf_id("001"),
    "string": xml_text,
    "double": st.floats(allow_nan=True, allow_infinity=True).map(double_lexical),
    "boolean": st.sampled_from(["true", "false", "1", "0"]),
    "date": _dates.map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
    "dateTime": _datetimes.map(
        lambda d: (
            f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d:%H:%M:%S}.{d.microsecond // 1000:03d}Z"
        )
    ),
}


@st.composite
def records(draw: st.DrawFn, contract: str, ids: tuple[str, str]) -> Record:
    spec = shape(contract)
    values: dict[str, str | None] = {}
    deleted = draw(st.booleans().map(lambda b: b and draw(st.integers(0, 9)) == 0))
    if not deleted:
        for f in spec.fields:
            if f.name in {"Id", "fieldsToNull"}:
                continue
            choice = draw(st.sampled_from(["value", "value", "nil", "absent"]))
            if choice == "nil":
                values[f.name] = None
            elif choice == "value":
                values[f.name] = draw(LEXICAL.get(f.type_label, xml_text))
    return Record(notification_id=ids[0], record_id=ids[1], fields=values)


@st.composite
def messages(
    draw: st.DrawFn, contract: str, orgs: tuple[str, ...], max_notifications: int = 100
) -> Message:
    count = draw(st.integers(1, max_notifications))
    notification_ids = draw(
        st.lists(sf_id("04l"), min_size=count, max_size=count, unique_by=sfid.to18)
    )
    # None: a record deleted before delivery (its sObject carries no Id).
    record_ids = draw(st.lists(sf_id("006") | st.none(), min_size=count, max_size=count))
    recs = [
        draw(records(contract, pair)) for pair in zip(notification_ids, record_ids, strict=True)
    ]
    org = draw(st.sampled_from(orgs))
    org = draw(st.sampled_from([org, sfid.to15(org)]))
    return Message(
        records=recs,
        org=org,
        session_id=draw(st.none() | st.just("00D7F00000107Xs!AQ4AQKnownSecretSessionValue")),
        header=draw(st.booleans()),
    )
