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

from gateway.bindings.shape import FieldSpec, OutboundMessageShape, read_outbound_shape
from gateway.cli_support import CommandError, print_table
from gateway.contracts import ContractError

COMPATIBLE = "compatible"
BREAKING = "breaking"

#: Exit code when any change is breaking (DESIGN.md: 0 ok, 1 failure, 2 usage, 3 breaking).
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


def diff_shapes(old: OutboundMessageShape, new: OutboundMessageShape) -> list[Change]:
    """Every difference between ``old`` and ``new``, type-level changes first, then fields
    in the new contract's order (removed fields last, in the old order)."""
    changes: list[Change] = []
    if old.object_name != new.object_name:
        changes.append(
            Change("object renamed", "sObject type", old.object_name, new.object_name, BREAKING)
        )
    if old.notification_type != new.notification_type:
        changes.append(
            Change(
                "notification type renamed",
                "Notification type",
                old.notification_type,
                new.notification_type,
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


def verdict(changes: list[Change], old: OutboundMessageShape, new: OutboundMessageShape) -> str:
    """One line: the classification and what regenerating the bindings will change."""
    if not changes:
        return "no changes: regeneration will produce the same bindings"
    counts: dict[str, int] = {}
    for change in changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    effects = [f"{kind}: {n}" for kind, n in counts.items()]
    if old.object_name != new.object_name:
        effects.insert(0, f"class {old.object_name} becomes {new.object_name}")
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


def main(args: argparse.Namespace) -> int:
    old = _read(Path(args.old))
    new = _read(Path(args.new))
    changes = diff_shapes(old, new)
    breaking = any(c.breaking for c in changes)
    line = verdict(changes, old, new)
    if args.json:
        print(
            json.dumps(
                {
                    "old": str(args.old),
                    "new": str(args.new),
                    "breaking": breaking,
                    "verdict": line,
                    "changes": [asdict(c) for c in changes],
                },
                indent=2,
            )
        )
    else:
        if changes:
            print_table(
                ["change", "subject", "old", "new", "class"],
                [(c.kind, c.subject, c.old, c.new, c.severity) for c in changes],
            )
            print()
        print(line)
    return EXIT_BREAKING if breaking else 0
