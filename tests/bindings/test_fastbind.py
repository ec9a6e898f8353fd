"""The fast binding path (gateway.bindings.fastbind) is xsdata's parser, only faster.

For every valid message -- both Opportunity contracts, every corpus WSDL, nil, empty and
absent fields, deleted records, every field type Salesforce emits -- the fast path binds
it by itself and its objects equal xsdata's exactly (same classes, same values, NaN
included). For every broken message the fast path gives up (or, if it binds, agrees with
xsdata) and ``ContractBinder.bind`` raises the same ``BindingError`` as xsdata alone.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import math
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from xsdata.exceptions import ConverterError
from xsdata.formats.converter import converter
from xsdata.formats.dataclass.context import XmlContext
from xsdata.models.datatype import XmlDate, XmlDateTime

from gateway.bindings import fastbind
from gateway.bindings.binder import BindingError, ContractBinder
from gateway.bindings.fastbind import FastBinder
from gateway.namespaces import SOAP11_ENVELOPE, XSI
from gateway.soap import parse_envelope
from tests.bindings import strategies as s
from tests.bindings.conftest import GeneratedCorpus
from tests.bindings.corpus import CORPUS, CorpusWsdl, notifications_xml
from tests.bindings.test_roundtrip import ERP, PARTNER
from tests.intake import messages as m

OUTBOUND = ("opportunity_with_fields", "opportunity_id_only")
PACKAGES = (*(f"generated.{c}" for c in OUTBOUND), "generated.partner", "generated.erp_orders")


def prop(max_examples: int) -> settings:
    """Explicit example counts: the whole module stays well under 30 s."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


class Pair:
    """The product's binder (fast path first), xsdata alone, and the bare fast path."""

    def __init__(self, package: str) -> None:
        self.fast = ContractBinder(package)
        self.xsdata = ContractBinder(package, fast=False)
        self.bare = FastBinder(XmlContext(models_package=package))
        self.notifications = self.fast.module.__dict__.get("Notifications")


PAIRS = {package: Pair(package) for package in PACKAGES}


def same(a: Any, b: Any) -> bool:
    """Equality that is stricter than ``==`` (the exact type of every value counts:
    ``1``, ``1.0`` and ``True`` differ) and lets NaN equal NaN."""
    if type(a) is not type(b):
        return False
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


#: Keeps comments and processing instructions (the hardened parser drops them), so that
#: mutations can put them where the fast path must notice them.
_LENIENT = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def payload(data: bytes) -> etree._Element:
    body = etree.fromstring(data, _LENIENT).find(f"{{{SOAP11_ENVELOPE}}}Body")
    assert body is not None
    return next(child for child in body if isinstance(child.tag, str))


def outcome(binder: ContractBinder, data: bytes, cls: type[Any]) -> tuple[str, Any]:
    try:
        return "ok", binder.bind(payload(data), cls)
    except BindingError as error:
        return "error", str(error)


def check_valid(pair: Pair, data: bytes, cls: type[Any] | None = None) -> Any:
    """The fast path binds ``data`` by itself, to exactly what xsdata binds."""
    cls = cls or pair.notifications
    assert cls is not None
    reference = pair.xsdata.bind(parse_envelope(data).payload, cls)
    fast = pair.bare.bind(parse_envelope(data).payload, cls)
    assert fast is not None, "the fast path gave up on a valid message"
    assert same(fast, reference), (fast, reference)
    assert same(pair.fast.bind(parse_envelope(data).payload, cls), reference)
    return reference


def check_same_outcome(pair: Pair, data: bytes, cls: type[Any] | None = None) -> str:
    """Fast path or not, the same object or the same error; the bare fast path binds
    only what xsdata binds, and to the same object. Returns ``ok`` or ``error``."""
    cls = cls or pair.notifications
    assert cls is not None
    kind, reference = outcome(pair.xsdata, data, cls)
    got_kind, got = outcome(pair.fast, data, cls)
    assert got_kind == kind, (got, reference)
    assert same(got, reference), (got, reference)
    bare = pair.bare.bind(payload(data), cls)
    if bare is not None:
        assert kind == "ok", reference
        assert same(bare, reference)
    return kind


# -- valid messages ---------------------------------------------------------------------


@pytest.mark.parametrize("contract", OUTBOUND)
def test_valid_outbound_messages_bind_exactly_as_xsdata_binds_them(contract: str) -> None:
    pair = PAIRS[f"generated.{contract}"]

    @prop(60)
    @given(m.messages(contract, (m.ORG,), max_notifications=6))
    def check(message: m.Message) -> None:
        check_valid(pair, message.xml())

    check()


@pytest.mark.parametrize("contract", OUTBOUND)
def test_full_size_messages_bind_exactly_as_xsdata_binds_them(contract: str) -> None:
    pair = PAIRS[f"generated.{contract}"]
    fields = {"Amount": "1000.5", "CloseDate": "2026-04-03", "IsWon": "true"}
    # empty required text elements: xsdata gives "" (not None) when not nillable
    message = m.simple_message(100, enterprise_url="", partner_url="")
    for index, record in enumerate(message.records):
        record.fields = fields if contract == "opportunity_with_fields" else {}
        if index % 7 == 0:
            record.record_id = None  # deleted before delivery
    bound = check_valid(pair, message.xml())
    assert len(bound.notification) == 100
    assert bound.enterprise_url == bound.partner_url == ""


ROUND_TRIPS = {"Notifications", *PARTNER, *ERP}


@pytest.mark.parametrize("package", PACKAGES)
def test_rendered_objects_bind_exactly_as_xsdata_binds_them(package: str) -> None:
    """Objects drawn from the generated classes, rendered by xsdata: partner and ERP
    types too (the mocks and the ERP client bind through the same ContractBinder)."""
    pair = PAIRS[package]
    context = XmlContext(models_package=package)
    names = sorted(
        name
        for name, value in vars(pair.fast.module).items()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
    )

    @prop(30)
    @given(
        st.sampled_from(names).flatmap(lambda n: s.for_class(getattr(pair.fast.module, n), context))
    )
    def check(obj: Any) -> None:
        xml = pair.fast.render(obj)
        data = (
            f'<e:Envelope xmlns:e="{SOAP11_ENVELOPE}"><e:Body>'.encode()
            + xml
            + b"</e:Body></e:Envelope>"
        )
        kind = check_same_outcome(pair, data, type(obj))
        # xsdata cannot read back everything it writes (a wildcard-only partner type,
        # for one); the types the product binds must come back.
        if type(obj).__name__ in ROUND_TRIPS:
            assert kind == "ok"

    check()


# -- the corpus: every field type, every shape --------------------------------------------

_ID = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=15, max_size=18
)
_OFFSET = st.sampled_from(["", "Z", "+05:30", "-00:00", "-12:00", "+14:00"])
_DATE = st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")
_TIME = st.times().map(
    lambda t: f"{t:%H:%M:%S}" + (f".{t.microsecond:06d}"[: 1 + t.microsecond % 9 + 1])
)
#: Lexical values xsdata accepts, canonical and not (spaces, signs, 5-digit years, ...).
LEXICAL: dict[str, st.SearchStrategy[str]] = {
    "ID": _ID,
    "string": m.xml_text,
    "double": st.floats().map(m.double_lexical)
    | st.sampled_from(["1E3", " 2.5 ", "-0", "+1.5", "1e-7", "INF"]),
    "int": st.integers(-(2**31), 2**31 - 1).map(str) | st.sampled_from(["+7", " 42 ", "007"]),
    "boolean": st.sampled_from(["true", "false", "1", "0", " true "]),
    "date": st.tuples(_DATE, _OFFSET).map("".join)
    | st.sampled_from([" 2026-04-03 ", "12026-04-03", "-0044-03-15", "2024-02-29Z"]),
    "dateTime": st.tuples(_DATE, st.just("T"), _TIME, _OFFSET).map("".join)
    | st.sampled_from(["2026-04-03T24:00:00Z", " 2026-04-03T10:11:12 ", "2026-04-03T10:11:12."]),
    "time": st.tuples(_TIME, _OFFSET).map("".join),
    "base64Binary": st.binary(max_size=30).map(lambda b: base64.b64encode(b).decode())
    | st.just("bGFi\nZWw="),
}


@st.composite
def corpus_message(draw: st.DrawFn, entry: CorpusWsdl) -> bytes:
    fields = list(entry.fields)
    if len(fields) > 30:  # keep the example small; the full width is checked below
        fields = draw(st.lists(st.sampled_from(fields), max_size=30, unique=True))
    records = []
    for _ in range(draw(st.integers(1, 3))):
        prefix = draw(st.sampled_from(["sf", "ns1"]))
        parts = []
        for _ in range(draw(st.integers(0, 2))):
            value = draw(st.none() | st.sampled_from(["Name", ""]))
            parts.append(
                f'<{prefix}:fieldsToNull xsi:nil="true"/>'
                if value is None
                else f"<{prefix}:fieldsToNull>{value}</{prefix}:fieldsToNull>"
            )
        shape = draw(st.sampled_from(["record", "record", "deleted", "empty"]))
        if shape != "empty":
            parts.append(f"<{prefix}:Id>{draw(_ID)}</{prefix}:Id>")
        if shape == "record":
            for name, type_ in fields:
                how = draw(st.sampled_from(["value", "value", "nil", "empty", "absent"]))
                if how == "nil":
                    parts.append(f'<{prefix}:{name} xsi:nil="true"/>')
                elif how == "empty":
                    parts.append(f"<{prefix}:{name}></{prefix}:{name}>")
                elif how == "value":
                    text = escape(draw(LEXICAL[type_.partition(":")[2]]))
                    parts.append(f"<{prefix}:{name}>{text}</{prefix}:{name}>")
        xsi_type = draw(st.sampled_from([f' xsi:type="{prefix}:{entry.object_name}"', ""]))
        records.append(
            f"<Notification><Id>{draw(_ID)}</Id><sObject{xsi_type} "
            f'xmlns:{prefix}="urn:sobject.enterprise.soap.sforce.com">{"".join(parts)}'
            f"</sObject></Notification>"
        )
    session = draw(st.sampled_from(['<SessionId xsi:nil="true"/>', "<SessionId>x!y</SessionId>"]))
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" xmlns:xsi="{XSI}"><soapenv:Body>'
        f'<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{m.ORG}</OrganizationId><ActionId>{m.ACTION}</ActionId>{session}"
        f"<EnterpriseUrl>{escape('https://x/?a=1&b=2')}</EnterpriseUrl><PartnerUrl>p</PartnerUrl>"
        f"{''.join(records)}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


@pytest.fixture(scope="module")
def corpus_pairs(generated_corpus: GeneratedCorpus) -> dict[str, Pair]:
    assert generated_corpus.generate_result.returncode == 0
    return {entry.stem: Pair(entry.package) for entry in CORPUS}


def test_corpus_messages_bind_exactly_as_xsdata_binds_them(corpus_pairs: dict[str, Pair]) -> None:
    @prop(100)
    @given(st.sampled_from(CORPUS).flatmap(lambda e: st.tuples(st.just(e), corpus_message(e))))
    def check(case: tuple[CorpusWsdl, bytes]) -> None:
        entry, data = case
        check_valid(corpus_pairs[entry.stem], data)

    check()


def test_full_corpus_messages_bind_exactly_as_xsdata_binds_them(
    corpus_pairs: dict[str, Pair],
) -> None:
    for entry in CORPUS:
        pair = corpus_pairs[entry.stem]
        check_valid(pair, notifications_xml(entry, 100, session_id="00D!x"))
        for mode in ("nil", "id", "empty"):
            check_valid(pair, notifications_xml(entry, 2, mode=mode, prefix="foo"))


# -- broken messages ----------------------------------------------------------------------

WITH_FIELDS = PAIRS["generated.opportunity_with_fields"]


def _broken(edit: str, old: str, new: str) -> tuple[str, bytes]:
    body = m.simple_message(2, session_id="s").xml()
    body = body.replace(b"<sf:StageName>", b"<sf:CloseDate>2026-04-03</sf:CloseDate><sf:StageName>")
    assert old.encode() in body, old
    return edit, body.replace(old.encode(), new.encode(), 1)


BROKEN = [
    _broken("unknown element", "<sf:StageName>", "<sf:Secret__c>x</sf:Secret__c><sf:StageName>"),
    _broken("duplicate element", "<ActionId>", f"<ActionId>{m.ACTION}</ActionId><ActionId>"),
    _broken("missing required", f"<OrganizationId>{m.ORG}</OrganizationId>", ""),
    _broken("missing notification id", f"<Id>{m.make_id('04l', 0)}</Id>", ""),
    _broken("other xsi:type", 'xsi:type="sf:Opportunity"', 'xsi:type="sf:Account"'),
    _broken("wildcard xsi:type", 'xsi:type="sf:Opportunity"', 'xsi:type="sf:AggregateResult"'),
    _broken("base xsi:type", 'xsi:type="sf:Opportunity"', 'xsi:type="sf:sObject"'),
    _broken("unknown prefix", 'xsi:type="sf:Opportunity"', 'xsi:type="zz:Opportunity"'),
    _broken("xsi:nil complex", "<sObject ", '<sObject xsi:nil="true" '),
    _broken("attribute", "<sf:Amount>", '<sf:Amount currency="EUR">'),
    _broken("attribute on complex", "<Notification>", '<Notification x="1">'),
    _broken("bad double", "<sf:Amount>1000.5", "<sf:Amount>lots"),
    _broken("bad date", "2026-04-03", "2026-13-03"),
    _broken("bad boolean", "<sf:StageName>", "<sf:IsWon>yes</sf:IsWon><sf:StageName>"),
    _broken("child in simple", "<sf:Amount>1000.5", "<sf:Amount><b>1</b>1000.5"),
    _broken("text in complex", "<Notification><Id>", "<Notification>text<Id>"),
    _broken("mixed text", "<sf:Amount>", "stray<sf:Amount>"),
    _broken("tail text", "</Notification>", "</Notification>tail"),
    _broken("comment", "<sf:Amount>", "<!-- c --><sf:Amount>"),
    _broken("processing instruction", "<sf:Amount>", "<?pi x?><sf:Amount>"),
    _broken("comment in simple", "<sf:Amount>1000.5", "<sf:Amount>10<!-- c -->00.5"),
    _broken("unqualified field", "<sf:Amount>1000.5</sf:Amount>", "<Amount>1</Amount>"),
    _broken("wrong namespace", "<OrganizationId>", '<OrganizationId xmlns="urn:x">'),
]


@pytest.mark.parametrize(("edit", "data"), BROKEN, ids=[edit for edit, _ in BROKEN])
def test_the_fast_path_gives_up_and_xsdata_decides(edit: str, data: bytes) -> None:
    pair = WITH_FIELDS
    assert pair.bare.bind(payload(data), pair.notifications) is None, edit
    check_same_outcome(pair, data)


def _mutate(tree: etree._Element, index: int, kind: int, text: str) -> None:
    """One edit of element ``index`` (document order) of the payload."""
    elements = [e for e in tree.iter() if isinstance(e.tag, str)]
    element = elements[index % len(elements)]
    parent = element.getparent()
    sobject_ns = "urn:sobject.enterprise.soap.sforce.com"
    if kind == 0:
        name = text if text.isascii() and text.isidentifier() else "Unknown"
        element.tag = f"{{{sobject_ns}}}{name}" if index % 2 else name
    elif kind == 1 and element is not tree and parent is not None:
        parent.remove(element)
    elif kind == 2 and element is not tree and parent is not None:
        parent.insert(parent.index(element), copy.deepcopy(element))
    elif kind == 3:
        element.set(f"{{{XSI}}}type", text)
    elif kind == 4:
        element.set(f"{{{XSI}}}nil", text or "true")
    elif kind == 5:
        element.set("attr", text)
    elif kind == 6:
        element.text = text
    elif kind == 7:
        element.tail = text
    elif kind == 8:
        etree.SubElement(element, f"{{{sobject_ns}}}Id").text = text
    elif kind == 9:
        element.append(etree.Comment(text.replace("-", "") or "c"))
        element.append(etree.ProcessingInstruction("pi", "x"))
    elif kind == 10:
        for child in list(element):
            element.remove(child)


_EDIT_TEXT = (
    st.sampled_from(
        [
            "",
            " ",
            "abc",
            "1.5",
            "true",
            "2026-13-01",
            " 2026-04-03 ",
            "2026-04-03T10:11:12Z",
            "sf:Opportunity",
            "sf:Account",
            "xx:Opportunity",
            "Opportunity",
            "AccountId",
            "Name",
            "{urn:sobject.enterprise.soap.sforce.com}Opportunity",
        ]
    )
    | m.xml_text
)


@pytest.mark.parametrize("contract", OUTBOUND)
def test_mutated_messages_get_the_same_result_or_the_same_error(contract: str) -> None:
    pair = PAIRS[f"generated.{contract}"]
    kinds: set[str] = set()

    @prop(150)
    @given(
        m.messages(contract, (m.ORG,), max_notifications=3),
        st.lists(
            st.tuples(st.integers(0, 400), st.integers(0, 10), _EDIT_TEXT), min_size=1, max_size=3
        ),
    )
    def check(message: m.Message, edits: list[tuple[int, int, str]]) -> None:
        root = etree.fromstring(message.xml(), _LENIENT)
        body = root.find(f"{{{SOAP11_ENVELOPE}}}Body")
        assert body is not None
        for index, kind, text in edits:
            _mutate(body[0], index, kind, text)
        kinds.add(check_same_outcome(pair, etree.tostring(root)))

    check()
    assert kinds == {"ok", "error"}  # the mutations reach both outcomes


# -- dates ----------------------------------------------------------------------------------


def _reference(text: str, type_: type[Any]) -> tuple[str, Any]:
    try:
        return "ok", converter.deserialize(text, [type_])
    except ConverterError:
        return "error", None


def _fast(text: str, convert: Any) -> tuple[str, Any]:
    try:
        return "ok", convert(text)
    except ConverterError:
        return "error", None


_DATEISH = (
    st.from_regex(
        r"\s?-?[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,3}(Z|[+-][0-9]{2}:[0-9]{2})?\s?", fullmatch=True
    )
    | st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?", fullmatch=True)
    | st.from_regex(r"\d{4}-\d{2}-\d{2}", fullmatch=True)
    | st.text("0123456789-+:Z ", max_size=16)
)
_TIMEISH = st.from_regex(
    r"[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,11})?(Z|[+-][0-9]{2}:[0-9]{2})?\s?", fullmatch=True
) | st.text("0123456789-+:.Z ", max_size=14)


@prop(300)
@given(_DATEISH)
def test_the_date_fast_path_equals_xsdatas_converter(text: str) -> None:
    got, want = _fast(text, fastbind._xml_date), _reference(text, XmlDate)
    assert got == want
    assert type(got[1]) is type(want[1])


@prop(300)
@given(st.tuples(_DATEISH, st.sampled_from(["T", "t", " "]), _TIMEISH).map("".join))
def test_the_date_time_fast_path_equals_xsdatas_converter(text: str) -> None:
    got, want = _fast(text, fastbind._xml_date_time), _reference(text, XmlDateTime)
    assert got == want
    assert type(got[1]) is type(want[1])


def test_canonical_salesforce_dates_take_the_fast_path() -> None:
    """The forms Salesforce sends never reach xsdata's character-by-character parser."""
    assert fastbind._DATE.fullmatch("2026-04-03")
    assert fastbind._DATE_TIME.fullmatch("2026-04-03T10:11:12.000Z")
    assert fastbind._xml_date_time("2026-04-03T10:11:12.5+02:00") == XmlDateTime(
        2026, 4, 3, 10, 11, 12, 500_000_000, 120
    )
