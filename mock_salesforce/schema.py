"""The Opportunity object as the mock org knows it: its standard fields, written here as
Salesforce describes them, and the custom fields of the org bundle (``objects/Opportunity/
fields/*.field-meta.xml``), read from the bundle's field rules.

One :class:`ObjectSchema` answers every question an API asks about a field -- does it
exist (names are case-insensitive), its type, length, whether it may be written, whether
it is unique or an external id, which picklist values it takes -- so REST, SOAP, SOQL,
describe and the save rules agree, and a user's bundle changes all of them at once.

Types are Salesforce's describe types (``string``, ``picklist``, ``currency``, ...); the
``kind`` of a field groups them by how a value is checked, stored and compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.org.bundle import FieldRule

WON_STAGE = "Closed Won"
LOST_STAGE = "Closed Lost"
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Negotiation/Review")

#: Key prefixes of the objects an id may name (the first three characters of an id).
KEY_PREFIXES: Mapping[str, str] = {
    "Opportunity": "006",
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Case": "500",
    "User": "005",
    "Task": "00T",
    "Event": "00U",
    "Campaign": "701",
    "Contract": "800",
    "Order": "801",
}

#: describe type -> how its values are checked, stored and compared.
KINDS: Mapping[str, str] = {
    "id": "id",
    "reference": "id",
    "string": "string",
    "picklist": "string",
    "textarea": "string",
    "email": "string",
    "phone": "string",
    "url": "string",
    "currency": "number",
    "double": "number",
    "percent": "number",
    "int": "number",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}

#: describe type -> the SOAP type describe names.
SOAP_TYPES: Mapping[str, str] = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "boolean": "xsd:boolean",
}

#: CustomField ``type`` in the metadata -> describe type. Anything else is refused when
#: the bundle is loaded (the mock cannot store or check it faithfully).
CUSTOM_TYPES: Mapping[str, str] = {
    "Text": "string",
    "Picklist": "picklist",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
}

_CUSTOM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*__c$")


class SchemaError(ValueError):
    """A custom field the mock org cannot hold; the message names the file and why."""


@dataclass(frozen=True)
class FieldSpec:
    """One field as ``describe`` shows it (the properties the APIs act on)."""

    name: str
    type: str
    label: str
    updateable: bool
    createable: bool
    nillable: bool = True
    length: int = 0
    unique: bool = False
    external_id: bool = False
    case_sensitive: bool = False
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    custom: bool = False
    reference_to: tuple[str, ...] = ()
    precision: int = 0
    scale: int = 0
    id_lookup: bool = False
    name_field: bool = False
    calculated: bool = False

    @property
    def kind(self) -> str:
        return KINDS[self.type]

    @property
    def soap_type(self) -> str:
        return SOAP_TYPES.get(self.type, "xsd:string")

    @property
    def required(self) -> bool:
        """A create without a value fails (REQUIRED_FIELD_MISSING)."""
        return not self.nillable and self.createable and self.type != "boolean"


def _std(name: str, type_: str, label: str, *, write: bool = True, **facts: object) -> FieldSpec:
    return FieldSpec(name, type_, label, updateable=write, createable=write, **facts)  # type: ignore[arg-type]


STANDARD_FIELDS: tuple[FieldSpec, ...] = (
    _std("Id", "id", "Opportunity ID", write=False, nillable=False, length=18, id_lookup=True),
    _std("IsDeleted", "boolean", "Deleted", write=False, nillable=False),
    _std("AccountId", "reference", "Account ID", length=18, reference_to=("Account",)),
    _std("Name", "string", "Name", nillable=False, length=120, name_field=True),
    _std("StageName", "picklist", "Stage", nillable=False, length=255,
         picklist=(*OPEN_STAGES, WON_STAGE, LOST_STAGE)),
    _std("Amount", "currency", "Amount", precision=18, scale=2),
    _std("CloseDate", "date", "Close Date", nillable=False),
    _std("IsClosed", "boolean", "Closed", write=False, nillable=False, calculated=True),
    _std("IsWon", "boolean", "Won", write=False, nillable=False, calculated=True),
    _std("CreatedDate", "datetime", "Created Date", write=False, nillable=False),
    _std("LastModifiedDate", "datetime", "Last Modified Date", write=False, nillable=False),
    _std("SystemModstamp", "datetime", "System Modstamp", write=False, nillable=False),
)  # fmt: skip


def custom_field(rule: FieldRule) -> FieldSpec:
    """A bundle field rule as describe shows the field; SchemaError when the mock cannot
    hold it (a type outside :data:`CUSTOM_TYPES`, a name that is not an API name)."""
    if not _CUSTOM_NAME.match(rule.name):
        raise SchemaError(f"{rule.source}: {rule.name!r} is not a custom field API name")
    describe_type = CUSTOM_TYPES.get(rule.type or "")
    if describe_type is None:
        raise SchemaError(
            f"{rule.source}: the mock org cannot hold a field of type {rule.type!r} "
            f"(it holds {', '.join(sorted(CUSTOM_TYPES))})"
        )
    length = rule.length or 0
    if describe_type == "picklist" or (describe_type == "textarea" and not length):
        length = 255
    return FieldSpec(
        name=rule.name,
        type=describe_type,
        label=rule.label or rule.name,
        updateable=True,
        createable=True,
        nillable=not rule.required,
        length=length,
        unique=rule.unique,
        external_id=rule.external_id,
        case_sensitive=rule.case_sensitive,
        picklist=rule.picklist_values,
        restricted=rule.restricted,
        custom=True,
        id_lookup=rule.external_id or rule.unique,
    )


@dataclass(frozen=True)
class ObjectSchema:
    """An object's fields, found by name whatever its case."""

    name: str
    key_prefix: str
    label: str
    label_plural: str
    fields: tuple[FieldSpec, ...]
    _by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        return self._by_lower.get(name.lower())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def custom_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.custom)

    def unique_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.unique and f.kind == "string")


def opportunity_schema(rules: Iterable[FieldRule] = ()) -> ObjectSchema:
    """Opportunity with the standard fields and the custom ones of ``rules`` (the bundle's
    Opportunity field rules; fields of other objects are the caller's to leave out)."""
    custom = [custom_field(rule) for rule in rules]
    names = [f.name.lower() for f in (*STANDARD_FIELDS, *custom)]
    if len(names) != len(set(names)):
        raise SchemaError("two custom fields of Opportunity share a name")
    return ObjectSchema(
        "Opportunity", KEY_PREFIXES["Opportunity"], "Opportunity", "Opportunities",
        (*STANDARD_FIELDS, *custom),
    )  # fmt: skip


def stage_flags(stage: str | None) -> tuple[bool, bool]:
    """(IsClosed, IsWon) for a stage, as the OpportunityStage mapping sets them."""
    return (stage in (WON_STAGE, LOST_STAGE), stage == WON_STAGE)
