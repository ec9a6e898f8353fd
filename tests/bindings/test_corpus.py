"""`sfgw bindings generate` on a varied corpus of Salesforce-shaped outbound-message WSDLs,
and messages of every shape bound through the hardened parser and the generated classes."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from xsdata.formats.dataclass.context import XmlContext

from gateway.bindings.binder import ContractBinder
from gateway.bindings.shape import read_outbound_shape
from gateway.namespaces import ENTERPRISE_SOBJECT
from gateway.soap import parse_envelope
from tests.bindings.conftest import GeneratedCorpus, sfgw
from tests.bindings.corpus import (
    CORPUS,
    FIELD_TYPES,
    CorpusWsdl,
    expected_value,
    notification_id,
    notifications_xml,
    record_id,
    write_corpus,
)

BY_STEM = {entry.stem: entry for entry in CORPUS}


def test_the_corpus_covers_what_users_bring() -> None:
    field_types = {t for entry in CORPUS for _, t in entry.fields}
    assert field_types == set(FIELD_TYPES)
    counts = [len(entry.fields) for entry in CORPUS]
    assert min(counts) == 1
    assert max(counts) == 500
    objects = {entry.object_name for entry in CORPUS}
    assert {"Case", "Order", "Group", "Shipment__c", "gwestr__Shipment__c"} <= objects


def test_one_generate_run_succeeds_for_every_corpus_wsdl(generated_corpus: GeneratedCorpus) -> None:
    result = generated_corpus.generate_result
    assert result.returncode == 0, result.stderr
    assert f"generated {len(CORPUS)} packages" in result.stdout
    for entry in CORPUS:
        assert (generated_corpus.generated / entry.stem / "__init__.py").is_file()


def test_check_is_clean_after_generate(generated_corpus: GeneratedCorpus) -> None:
    result = sfgw("bindings", "check", env=generated_corpus.env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_wsdls_read_back_as_their_shapes(generated_corpus: GeneratedCorpus) -> None:
    for entry in CORPUS:
        shape = read_outbound_shape(
            generated_corpus.contracts / "salesforce" / f"{entry.stem}.wsdl"
        )
        assert shape.object_name == entry.object_name
        assert shape.notification_type == f"{entry.object_name}Notification"
        assert {(f.name, f.type_label) for f in shape.fields} == {
            (name, type_.partition(":")[2]) for name, type_ in entry.fields
        }


class Bound:
    """A corpus package, its binder, and lookups from XML names to generated fields."""

    def __init__(self, entry: CorpusWsdl) -> None:
        self.entry = entry
        self.module = importlib.import_module(entry.package)
        self.binder = ContractBinder(entry.package)
        self.context = XmlContext(models_package=entry.package)
        sobject = self.binder.type_class("{urn:sobject.enterprise.soap.sforce.com}sObject")
        matches = [
            cls
            for cls in vars(self.module).values()
            if isinstance(cls, type)
            and issubclass(cls, sobject)
            and cls is not sobject
            and self.context.build(cls).qname.rpartition("}")[2] == entry.object_name
        ]
        assert len(matches) == 1, matches
        self.object_cls: type[Any] = matches[0]
        # the product finds the same class by the XML name alone
        assert (
            self.binder.type_class(f"{{{ENTERPRISE_SOBJECT}}}{entry.object_name}")
            is self.object_cls
        )
        self.attribute = {
            var.local_name: var.name for var in self.context.build(self.object_cls).get_all_vars()
        }

    def bind(self, data: bytes) -> Any:
        return self.binder.bind(
            parse_envelope(data).payload,
            self.binder.element_class("{http://soap.sforce.com/2005/09/outbound}notifications"),
        )


@pytest.fixture(scope="module")
def bound(generated_corpus: GeneratedCorpus) -> dict[str, Bound]:
    assert generated_corpus.generate_result.returncode == 0
    return {entry.stem: Bound(entry) for entry in CORPUS}


@pytest.mark.parametrize("stem", sorted(BY_STEM))
def test_full_messages_bind_to_the_object_class_with_every_value(
    bound: dict[str, Bound], stem: str
) -> None:
    b = bound[stem]
    for count in (1, 100):
        message = b.bind(notifications_xml(b.entry, count, session_id="00D7F00000107Xs!AQ4AQ.x"))
        assert message.session_id == "00D7F00000107Xs!AQ4AQ.x"
        assert len(message.notification) == count
        for index, notification in enumerate(message.notification):
            assert notification.id == notification_id(index)
            record = notification.s_object
            assert type(record) is b.object_cls
            assert record.id == record_id(index)
        record = message.notification[-1].s_object
        for name, type_ in b.entry.fields:
            assert getattr(record, b.attribute[name]) == expected_value(type_), name


@pytest.mark.parametrize("stem", sorted(BY_STEM))
def test_nil_fields_deleted_and_empty_records_bind(bound: dict[str, Bound], stem: str) -> None:
    b = bound[stem]
    for mode in ("nil", "id", "empty"):
        message = b.bind(notifications_xml(b.entry, 2, mode=mode, prefix="foo"))
        assert message.session_id is None
        for index, notification in enumerate(message.notification):
            record = notification.s_object
            assert type(record) is b.object_cls
            assert record.id == (None if mode == "empty" else record_id(index))
            for name, _ in b.entry.fields:
                assert getattr(record, b.attribute[name]) is None, (mode, name)


def test_a_soap_header_does_not_disturb_binding(bound: dict[str, Bound]) -> None:
    b = bound["std_case"]
    data = notifications_xml(
        b.entry, 1, header='<x:Trace xmlns:x="urn:example:trace">abc</x:Trace>'
    )
    envelope = parse_envelope(data)
    assert envelope.header is not None
    message = b.binder.bind(
        envelope.payload,
        b.binder.element_class("{http://soap.sforce.com/2005/09/outbound}notifications"),
    )
    assert type(message.notification[0].s_object) is b.object_cls


def test_a_message_for_another_object_is_refused_by_name(bound: dict[str, Bound]) -> None:
    case, order = bound["std_case"], bound["std_order"]
    data = notifications_xml(order.entry, 1)
    with pytest.raises(Exception, match=r"unknown element (ContractId|AccountId)") as info:
        case.bind(data.replace(b'xsi:type="sf:Order"', b'xsi:type="sf:Case"'))
    assert "sforce.com" in str(info.value)


def test_a_contract_xsdata_cannot_read_fails_in_one_line_naming_it(tmp_path: Path) -> None:
    contracts, generated_dir = tmp_path / "contracts", tmp_path / "generated"
    good = CorpusWsdl("good", "Invoice__c", (("Name", "xsd:string"),))
    write_corpus(contracts, (good,))
    (contracts / "bad.wsdl").write_text(
        good.text().replace('minOccurs="0" type="xsd:string"', 'minOccurs="many" type="xsd:string"')
    )
    (generated_dir / "keep").mkdir(parents=True)
    env = {"SFGW_CONTRACTS_DIR": str(contracts), "SFGW_GENERATED_DIR": str(generated_dir)}
    result = sfgw("bindings", "generate", env=env)
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if line.startswith("sfgw: error:")]
    assert str(contracts / "bad.wsdl") in error
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in generated_dir.iterdir()) == ["keep"]

    (contracts / "bad.wsdl").write_text("<definitions")
    result = sfgw("bindings", "generate", env=env)
    assert result.returncode == 1
    assert "not well-formed XML" in result.stderr
    assert str(contracts / "bad.wsdl") in result.stderr
