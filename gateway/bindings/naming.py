"""What Python classes xsdata generates for a WSDL's record and notification types.

xsdata derives class names on its own (``Shipment__c`` becomes ``ShipmentC``, a name that
clashes with another gets a suffix), so the only exact answer is to generate: the WSDL
goes through the same generator as ``sfgw bindings generate`` into a scratch package, and
the classes are then found there by their XML names, as the gateway finds them.
"""

from __future__ import annotations

import importlib
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from gateway.bindings.binder import ContractBinder
from gateway.bindings.generate import run_generator
from gateway.bindings.shape import OutboundMessageShape


@dataclass(frozen=True)
class ClassNames:
    """The generated Python names of one outbound-message contract's two types."""

    object: str
    notification: str


def generated_class_names(
    contracts: list[tuple[Path, OutboundMessageShape]],
) -> list[ClassNames]:
    """Class names for each ``(WSDL, its shape)``, generated in one scratch run."""
    root = f"sfgw_naming_{secrets.token_hex(4)}"
    packages = [f"{root}.contract{index}" for index in range(len(contracts))]
    with tempfile.TemporaryDirectory(prefix="sfgw-naming-") as scratch:
        run_generator(
            [(path, package) for (path, _), package in zip(contracts, packages, strict=True)],
            Path(scratch),
        )
        sys.path.insert(0, scratch)
        try:
            names = []
            for (_, shape), package in zip(contracts, packages, strict=True):
                binder = ContractBinder(package)
                names.append(
                    ClassNames(
                        object=binder.type_class(shape.object_qname).__name__,
                        notification=binder.type_class(shape.notification_qname).__name__,
                    )
                )
            return names
        finally:
            sys.path.remove(scratch)
            for module in [m for m in sys.modules if m == root or m.startswith(f"{root}.")]:
                del sys.modules[module]
            importlib.invalidate_caches()
