"""When an outbound message is queued: the record-triggered flows that send it.

A :class:`Trigger` is what the mock org keeps of one flow (from the org bundle): on which
saves it runs (``recordTriggerType`` Create, Update or CreateAndUpdate), its entry
condition (``filterFormula``, evaluated by :mod:`mock_salesforce.formula`) and whether an
update must *change* the record into meeting it (``doesRequireRecordChangedToMeetCriteria``).
Triggers are stored with each outbound-message definition as JSON, so the store decides on
every save -- in the save's transaction -- without the bundle at hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mock_salesforce import formula

RECORD_TRIGGER_TYPES = ("Create", "Update", "CreateAndUpdate")

#: The classic rule: a stage change into a won stage. What a definition made through
#: ``PUT /admin/definitions`` or the store alone runs when nothing else is given.
WON_RULE = "AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon})"


@dataclass(frozen=True)
class Trigger:
    flow: str
    record_trigger_type: str = "Update"
    formula: str | None = None
    requires_change: bool = False

    def __post_init__(self) -> None:
        if self.record_trigger_type not in RECORD_TRIGGER_TYPES:
            raise ValueError(
                f"flow {self.flow}: recordTriggerType {self.record_trigger_type!r} is not one "
                f"of {', '.join(RECORD_TRIGGER_TYPES)}"
            )

    @property
    def on_create(self) -> bool:
        return self.record_trigger_type in ("Create", "CreateAndUpdate")

    @property
    def on_update(self) -> bool:
        return self.record_trigger_type in ("Update", "CreateAndUpdate")

    def fires(self, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
        """Whether a save runs the flow; ``before`` is None when the record is created."""
        if (before is None and not self.on_create) or (before is not None and not self.on_update):
            return False
        if self.formula is None:
            return True
        condition = formula.parse(self.formula)
        if not condition.holds(before, after):
            return False
        # "Only when a record is updated to meet the condition": not if it met it already.
        return not (self.requires_change and before is not None and condition.holds(before, before))


def default_triggers() -> tuple[Trigger, ...]:
    return (Trigger("won-rule", "Update", WON_RULE),)


def to_json(triggers: Iterable[Trigger]) -> str:
    return json.dumps([asdict(t) for t in triggers])


def from_json(text: str | None) -> tuple[Trigger, ...]:
    """Stored triggers; a definition stored before triggers were kept runs the won rule."""
    if not text:
        return default_triggers()
    return tuple(Trigger(**item) for item in json.loads(text))


def from_specs(specs: Sequence[Mapping[str, Any]]) -> tuple[Trigger, ...]:
    """Triggers given in a ``PUT /admin/definitions`` body (``{"flow", "formula",
    "record_trigger_type", "requires_change"}``); ValueError naming what is wrong."""
    out = []
    for spec in specs:
        if not isinstance(spec, Mapping) or not set(spec) <= {
            "flow",
            "formula",
            "record_trigger_type",
            "requires_change",
        }:
            raise ValueError("a trigger is {flow, formula, record_trigger_type, requires_change}")
        trigger = Trigger(
            flow=str(spec.get("flow") or "admin"),
            record_trigger_type=str(spec.get("record_trigger_type") or "Update"),
            formula=None if spec.get("formula") is None else str(spec["formula"]),
            requires_change=bool(spec.get("requires_change", False)),
        )
        if trigger.formula is not None:
            try:
                formula.parse(trigger.formula)
            except formula.FormulaError as error:
                raise ValueError(f"trigger {trigger.flow}: {error}") from None
        out.append(trigger)
    return tuple(out)
