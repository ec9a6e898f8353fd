"""The contracts in ``contracts/`` and what each one is.

Every WSDL and XSD under ``contracts/`` becomes one generated package, named from its file
name (``contracts/salesforce/opportunity_id_only.wsdl`` -> ``generated.opportunity_id_only``).
Outbound-message contracts (target namespace ``http://soap.sforce.com/2005/09/outbound``)
also become intake routes of the same name. A plain XSD (the Metadata API subset the org
bundle is checked against) is a contract too: its types are generated the same way, so the
org's metadata files are read through generated classes like every other wire format.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from pathlib import Path

from gateway.namespaces import OUTBOUND_MESSAGE, WSDL, XSD
from gateway.soap import parse_xml

#: The intake serves each outbound-message contract at this path plus the contract's name.
OUTBOUND_ROUTE_PREFIX = "/salesforce/outbound/"


class ContractError(ValueError):
    """A contract file cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class Contract:
    name: str
    path: Path
    target_namespace: str

    @property
    def package(self) -> str:
        return f"generated.{self.name}"

    @property
    def is_outbound_message(self) -> bool:
        return self.target_namespace == OUTBOUND_MESSAGE


def contract_name(path: Path) -> str:
    """A Python package name from a contract's file name: lower case, ``_`` for the rest."""
    name = re.sub(r"[^0-9a-zA-Z_]+", "_", path.stem).strip("_").lower()
    name = re.sub(r"_+", "_", name)
    if not name:
        raise ContractError(f"{path}: cannot derive a package name from this file name")
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"c_{name}"
    return name


def read_contract(path: Path) -> Contract:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ContractError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        root = parse_xml(data)
    except ValueError:
        # parse_xml words its errors for request bodies; this is a file
        reason = "is empty" if not data.strip() else "is not well-formed XML (or has a DOCTYPE)"
        raise ContractError(f"{path} {reason}; save the WSDL again from Setup") from None
    if path.suffix == ".xsd":
        if root.tag != f"{{{XSD}}}schema":
            raise ContractError(f"{path}: not an XML Schema (root is not xsd:schema)")
    elif root.tag != f"{{{WSDL}}}definitions":
        raise ContractError(f"{path}: not a WSDL 1.1 document (root is not wsdl:definitions)")
    return Contract(
        name=contract_name(path),
        path=path,
        target_namespace=root.get("targetNamespace", ""),
    )


def discover_contracts(contracts_dir: Path) -> list[Contract]:
    """All WSDLs and XSDs under ``contracts_dir``, sorted by name; two files may not share
    a name."""
    paths = [*contracts_dir.rglob("*.wsdl"), *contracts_dir.rglob("*.xsd")]
    contracts = [read_contract(p) for p in sorted(paths)]
    seen: dict[str, Path] = {}
    for contract in contracts:
        if contract.name in seen:
            raise ContractError(
                f"{contract.path} and {seen[contract.name]} both map to package "
                f"generated.{contract.name}; rename one of them"
            )
        seen[contract.name] = contract.path
    return sorted(contracts, key=lambda c: c.name)


def outbound_contracts(contracts_dir: Path) -> list[Contract]:
    return [c for c in discover_contracts(contracts_dir) if c.is_outbound_message]
