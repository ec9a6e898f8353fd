"""``sfgw bindings diff OLD.wsdl NEW.wsdl``: what a new outbound-message WSDL changes.

A user who downloads a fresh WSDL from Setup wants to know, before regenerating, whether
the gateway will still accept what Salesforce sends and whether the generated classes keep
their names. :func:`diff_shapes` is the pure core (two :class:`OutboundMessageShape` in,
a list of classified :class:`Change` out); :func:`main` is the CLI shell around it.

Classification follows what breaks for code that uses the generated classes or for
messages already queued under the old contract:

* an added optional field is compatible (old messages simply lack it);
* a removed field, a changed type, a field that became required or non-nillable, a renamed
  object or notification type, or fewer notifications per message are breaking;
* a field that became optional or nillable, or more notifications per message, is
  compatible.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from gateway.bindings.generate import GenerationError
from gateway.bindings.naming import ClassNames, generated_class_names
from gateway.bindings.outbound import describe_class
from gateway.bindings.shape import FieldSpec, OutboundMessageShape, read_outbound_shape
from gateway.cli_support import CommandError, print_table
from gateway.contracts import ContractError

COMPATIBLE = "compatible"
BREAKING = "breaking"

#: Exit code when any change is breaking (0 ok, 1 failure, 2 usage, 3 breaking).
EXIT_BREAKING = 3


@dataclass(frozen=True)
class Change:
    """One difference between two versions of an outbound-message contract."""

    kind: str  # field added | field removed | field retyped | ... (see diff_shapes)
    subject: str  # the field or type it is about
    old: str
    new: str
    severity: str  # COMPATIBLE or BREAKING

    @property
    def breaking(self) -> bool:
        return self.severity == BREAKING


def _field_label(spec: FieldSpec) -> str:
    required = "optional" if spec.min_occurs == 0 else "required"
    nil = ", nillable" if spec.nillable else ""
    return f"{spec.type_label} ({required}{nil})"


def _field_changes(old: FieldSpec, new: FieldSpec) -> list[Change]:
    changes: list[Change] = []
    if old.type != new.type:
        changes.append(Change("field retyped", new.name, old.type_label, new.type_label, BREAKING))
    if old.min_occurs != new.min_occurs:
        severity = BREAKING if new.min_occurs > old.min_occurs else COMPATIBLE
        changes.append(
            Change(
                "field made required" if severity == BREAKING else "field made optional",
                new.name,
                f"minOccurs={old.min_occurs}",
                f"minOccurs={new.min_occurs}",
                severity,
            )
        )
    if old.nillable != new.nillable:
        severity = BREAKING if old.nillable else COMPATIBLE
        changes.append(
            Change(
                "field no longer nillable" if severity == BREAKING else "field made nillable",
                new.name,
                f"nillable={str(old.nillable).lower()}",
                f"nillable={str(new.nillable).lower()}",
                severity,
            )
        )
    return changes


def diff_shapes(
    old: OutboundMessageShape,
    new: OutboundMessageShape,
    names: tuple[ClassNames, ClassNames] | None = None,
) -> list[Change]:
    """Every difference between ``old`` and ``new``, type-level changes first, then fields
    in the new contract's order (removed fields last, in the old order).

    ``names``: the generated Python classes of both versions; a renamed type is then
    reported by its XML name and its class (``Shipment__c / ShipmentC``).
    """
    changes: list[Change] = []
    if old.object_name != new.object_name:
        changes.append(
            Change(
                "object renamed",
                "sObject type",
                _label(old.object_name, names[0].object if names else None),
                _label(new.object_name, names[1].object if names else None),
                BREAKING,
            )
        )
    if old.notification_type != new.notification_type:
        changes.append(
            Change(
                "notification type renamed",
                "Notification type",
                _label(old.notification_type, names[0].notification if names else None),
                _label(new.notification_type, names[1].notification if names else None),
                BREAKING,
            )
        )
    if old.max_notifications != new.max_notifications:
        severity = BREAKING if new.max_notifications < old.max_notifications else COMPATIBLE
        changes.append(
            Change(
                "maxOccurs changed",
                "Notification",
                str(old.max_notifications),
                str(new.max_notifications),
                severity,
            )
        )
    old_fields = {f.name: f for f in old.fields}
    new_fields = {f.name: f for f in new.fields}
    for spec in new.fields:
        before = old_fields.get(spec.name)
        if before is None:
            optional = spec.min_occurs == 0
            changes.append(
                Change(
                    "field added",
                    spec.name,
                    "",
                    _field_label(spec),
                    COMPATIBLE if optional else BREAKING,
                )
            )
        else:
            changes.extend(_field_changes(before, spec))
    for spec in old.fields:
        if spec.name not in new_fields:
            changes.append(Change("field removed", spec.name, _field_label(spec), "", BREAKING))
    return changes


def _label(xml_name: str, class_name: str | None) -> str:
    return xml_name if class_name is None else describe_class(xml_name, class_name)


def verdict(
    changes: list[Change],
    old: OutboundMessageShape,
    new: OutboundMessageShape,
    names: tuple[ClassNames, ClassNames] | None = None,
) -> str:
    """One line: the classification and what regenerating the bindings will change."""
    if not changes:
        return "no changes: regeneration will produce the same bindings"
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    effects = [f"{kind}: {n}" for kind, n in counts.items()]
    if old.object_name != new.object_name:
        before = _label(old.object_name, names[0].object if names else None)
        after = _label(new.object_name, names[1].object if names else None)
        effects.insert(0, f"class {before} becomes {after}")
    summary = ", ".join(effects)
    breaking = [c for c in changes if c.breaking]
    if breaking:
        return (
            f"BREAKING ({len(breaking)} of {len(changes)} changes): regeneration changes the "
            f"bindings ({summary}); update code that uses them and drain queued messages first"
        )
    return (
        f"compatible: regeneration will change the bindings ({summary}); "
        "existing code keeps working"
    )


def _read(path: Path) -> OutboundMessageShape:
    try:
        return read_outbound_shape(path)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except ContractError as error:
        raise CommandError(str(error)) from None


def _class_names(
    old: tuple[Path, OutboundMessageShape], new: tuple[Path, OutboundMessageShape]
) -> tuple[ClassNames, ClassNames]:
    try:
        before, after = generated_class_names([old, new])
    except (GenerationError, LookupError) as error:
        raise CommandError(f"cannot generate bindings to name the classes: {error}") from None
    return before, after


def main(args: argparse.Namespace) -> int:
    old_path, new_path = Path(args.old), Path(args.new)
    old = _read(old_path)
    new = _read(new_path)
    names = _class_names((old_path, old), (new_path, new))
    changes = diff_shapes(old, new, names)
    breaking = any(c.breaking for c in changes)
    line = verdict(changes, old, new, names)
    record = {
        "old": {"xml": old.object_name, "class": names[0].object},
        "new": {"xml": new.object_name, "class": names[1].object},
    }
    if args.json:
        print(
            json.dumps(
                {
                    "old": str(args.old),
                    "new": str(args.new),
                    "record_type": record,
                    "breaking": breaking,
                    "verdict": line,
                    "changes": [asdict(c) for c in changes],
                },
                indent=2,
            )
        )
    else:
        print(f"record type: {_label(old.object_name, names[0].object)}", end="")
        if old.object_name != new.object_name or names[0].object != names[1].object:
            print(f" -> {_label(new.object_name, names[1].object)}")
        else:
            print()
        if changes:
            print_table(
                ["change", "subject", "old", "new", "class"],
                [(c.kind, c.subject, c.old, c.new, c.severity) for c in changes],
            )
            print()
        print(line)
    return EXIT_BREAKING if breaking else 0
