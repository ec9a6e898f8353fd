"""One outbound-message contract, ready to serve: its WSDL's shape and its generated classes.

The classes are found by the XML names the WSDL gives them (``notifications``,
``Shipment__cNotification``, ``Shipment__c``), through xsdata's own metadata, never by
guessing what Python name xsdata chose (``ShipmentC``). Everything that can be wrong
with a contract -- a WSDL that is not an outbound message, bindings never generated or
generated from an older version of the file, a class xsdata cannot describe -- is found
here, at start-up, and reported as one :class:`~gateway.contracts.ContractError` that names
the file and the fix. A contract that loads here can be bound, validated and routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.bindings.binder import ContractBinder
from gateway.bindings.shape import OutboundMessageShape, read_outbound_shape
from gateway.contracts import Contract, ContractError
from gateway.namespaces import OUTBOUND_MESSAGE

REGENERATE = "run `sfgw bindings generate`"


@dataclass(frozen=True)
class OutboundBindings:
    """A contract's shape (from the WSDL) and the generated classes for its XML types."""

    contract: Contract
    shape: OutboundMessageShape
    binder: ContractBinder
    notifications_class: type[Any]
    notification_class: type[Any]
    object_class: type[Any]

    @property
    def object_class_name(self) -> str:
        """``Shipment__c / ShipmentC``: the XML name, and the Python class when it differs."""
        return describe_class(self.shape.object_name, self.object_class)


def describe_class(xml_name: str, cls: type[Any] | str) -> str:
    python_name = cls if isinstance(cls, str) else cls.__name__
    return xml_name if python_name == xml_name else f"{xml_name} / {python_name}"


def use_generated_dir(generated_dir: Path) -> None:
    """Import ``generated.<contract>`` packages from ``generated_dir`` first.

    ``SFGW_GENERATED_DIR`` may point outside the checkout (a user's own contracts and
    bindings). The generated modules import each other as ``generated.<name>...``, so
    the directory is put at the front of the ``generated`` package's search path, the
    way namespace packages extend theirs; the checkout's own packages stay reachable.
    """
    import generated

    path = str(generated_dir.resolve())
    search = generated.__path__
    if path not in search:
        search.insert(0, path)


def load_outbound(contract: Contract) -> OutboundBindings:
    """The contract's bindings, or a :class:`ContractError` naming the file and the fix."""
    shape = read_outbound_shape(contract.path)
    binder = _binder(contract)
    try:
        notifications = binder.element_class(f"{{{OUTBOUND_MESSAGE}}}notifications")
        notification = binder.type_class(shape.notification_qname)
        record = binder.type_class(shape.object_qname)
    except LookupError as error:
        raise ContractError(
            f"{contract.path}: {error}: the bindings are older than the WSDL; {REGENERATE}"
        ) from None
    _check_fields(contract, shape, binder, record)
    return OutboundBindings(
        contract=contract,
        shape=shape,
        binder=binder,
        notifications_class=notifications,
        notification_class=notification,
        object_class=record,
    )


def _binder(contract: Contract) -> ContractBinder:
    try:
        return ContractBinder(contract.package)
    except ModuleNotFoundError as error:
        if error.name is not None and contract.package.startswith(error.name):
            raise ContractError(
                f"{contract.path}: no generated bindings ({contract.package}); {REGENERATE}"
            ) from None
        raise ContractError(
            f"{contract.path}: the generated package {contract.package} does not import "
            f"(no module {error.name}); {REGENERATE}"
        ) from None
    except Exception as error:  # anything a broken generated module raises on import
        raise ContractError(
            f"{contract.path}: the generated package {contract.package} does not import "
            f"({type(error).__name__}: {_first_line(error)}); {REGENERATE}"
        ) from None


def _check_fields(
    contract: Contract, shape: OutboundMessageShape, binder: ContractBinder, record: type[Any]
) -> None:
    """The generated record class must declare exactly the WSDL's fields.

    Bindings generated from an older version of the WSDL would otherwise refuse every
    message carrying a new field (or accept one the contract no longer has).
    """
    try:
        declared = binder.element_names(record)
    except Exception as error:  # xsdata cannot describe the class
        raise ContractError(
            f"{contract.path}: xsdata cannot read the class for {shape.object_name} "
            f"({type(error).__name__}: {_first_line(error)}); {REGENERATE}"
        ) from None
    expected = {field.name for field in shape.fields} | {"Id", "fieldsToNull"}
    missing = sorted(expected - declared)
    extra = sorted(declared - expected)
    if missing or extra:
        details = []
        if missing:
            details.append(f"fields not in the bindings: {', '.join(missing[:5])}")
        if extra:
            details.append(f"fields no longer in the WSDL: {', '.join(extra[:5])}")
        raise ContractError(
            f"{contract.path}: {contract.package} was generated from another version of "
            f"this WSDL ({'; '.join(details)}); {REGENERATE}"
        )


def load_all(contracts: list[Contract]) -> dict[str, OutboundBindings]:
    """Every contract's bindings; the first that fails stops it, naming how many others do.

    A gateway that served only the contracts that load would leave Salesforce retrying
    the others for 24 hours without anyone noticing; refusing to start is louder.
    """
    loaded: dict[str, OutboundBindings] = {}
    failures: list[ContractError] = []
    for contract in contracts:
        try:
            loaded[contract.name] = load_outbound(contract)
        except ContractError as error:
            failures.append(error)
    if failures:
        first = str(failures[0])
        if len(failures) > 1:
            others = ", ".join(_file_of(f) for f in failures[1:4])
            more = "" if len(failures) <= 4 else ", ..."
            first += f" ({len(failures) - 1} more cannot be served either: {others}{more})"
        raise ContractError(first)
    return loaded


def _file_of(error: ContractError) -> str:
    return str(error).split(":", 1)[0].rpartition("/")[2]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else "no message"
