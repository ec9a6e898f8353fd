"""The org bundle as the mock org runs it: which outbound messages exist and where they
post, which flows send them and when, what the Opportunity's custom fields accept, and
whether the Apex callback classes are deployed.

The bundle (``salesforce/``, or ``SFGW_MOCKSF_BUNDLE``) is read with the product's own
:func:`gateway.org.bundle.load_bundle`, so the mock org and ``sfgw org bundle`` agree on
what the files say. The mock adds what only a running org needs:

* each outbound message's endpoint keeps its path (``/salesforce/outbound/<contract>``)
  and gets the host of the gateway it is started against (``SFGW_MOCKSF_GATEWAY_URL``);
* each active record-triggered flow on Opportunity becomes a :class:`Trigger` of the
  messages it sends, its ``filterFormula`` checked against the Opportunity's fields (a
  construct outside the formula subset stops the load, naming it);
* custom fields on Opportunity become the schema the save rules and ``describe`` use.

What the mock cannot run is not silently dropped: it is listed in
:attr:`Deployment.skipped` with the reason (a flow on another object, an inactive flow,
a message that posts somewhere else than a gateway route).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gateway.org.bundle import FlowTrigger, OrgBundle, OutboundMessage, load_bundle
from gateway.org.errors import BundleError
from gateway.settings import PROJECT_ROOT
from mock_salesforce import formula
from mock_salesforce.schema import ObjectSchema, SchemaError, opportunity_schema
from mock_salesforce.triggers import Trigger

#: The repository's bundle: what the mock org runs unless SFGW_MOCKSF_BUNDLE names another.
DEFAULT_BUNDLE = PROJECT_ROOT / "salesforce"
#: The classes the Apex endpoints run; the org "has" them when the bundle holds them all.
APEX_CLASSES = ("SfgwOrderRestResource", "SfgwOrderService", "SfgwOrderUpdates")
OBJECT = "Opportunity"


class DeploymentError(ValueError):
    """The bundle cannot run in the mock org; the message names the file and the reason."""


@dataclass(frozen=True)
class Message:
    """An outbound message as the mock org sends it."""

    name: str
    contract: str
    path: str
    fields: tuple[str, ...]
    include_session_id: bool
    triggers: tuple[Trigger, ...]

    def definition(self, gateway_url: str, send_session_id: bool) -> dict[str, Any]:
        """The store's definition: the endpoint on ``gateway_url``'s host."""
        return {
            "name": self.name,
            "contract": self.contract,
            "endpoint_url": gateway_url.rstrip("/") + self.path,
            "include_session_id": self.include_session_id or send_session_id,
            "fields": list(self.fields),
            "triggers": self.triggers,
        }


@dataclass(frozen=True)
class Deployment:
    root: Path
    schema: ObjectSchema
    messages: tuple[Message, ...]
    apex_classes: tuple[str, ...]
    skipped: tuple[str, ...]

    @property
    def apex_deployed(self) -> bool:
        return all(name in self.apex_classes for name in APEX_CLASSES)

    @property
    def contracts(self) -> tuple[str, ...]:
        return tuple(sorted({m.contract for m in self.messages}))

    def chosen(self, contracts: Sequence[str]) -> list[Message]:
        """The messages posting to ``contracts`` (all for ``*``); DeploymentError for a
        contract no message of the bundle posts to."""
        if "*" in contracts:
            return list(self.messages)
        for name in contracts:
            if name not in self.contracts:
                have = ", ".join(self.contracts) or "none"
                raise DeploymentError(
                    f"contract {name}: no outbound message of the bundle at {self.root} posts "
                    f"to /salesforce/outbound/{name} (its messages post to: {have})"
                )
        return [m for m in self.messages if m.contract in contracts]

    def triggers_for(self, contract: str) -> tuple[Trigger, ...]:
        """The flows that send the bundle's messages to ``contract`` (none: never sent)."""
        return tuple(t for m in self.messages if m.contract == contract for t in m.triggers)

    def check_formula(self, text: str, on_create: bool) -> None:
        """FormulaError unless the org can evaluate ``text`` on its Opportunities."""
        formula.check(text, field_types(self.schema), on_create)


def field_types(schema: ObjectSchema) -> Callable[[str], tuple[str, str] | None]:
    """How :func:`mock_salesforce.formula.check` learns a field's (kind, describe type)."""

    def field_type(name: str) -> tuple[str, str] | None:
        spec = schema.field(name)
        return None if spec is None else (spec.kind, spec.type)

    return field_type


def _trigger(flow: FlowTrigger, schema: ObjectSchema) -> Trigger:
    record_trigger = flow.record_trigger_type or ""
    if record_trigger not in ("Create", "Update", "CreateAndUpdate"):
        raise DeploymentError(
            f"{flow.source}: recordTriggerType {record_trigger or '(none)'} cannot send an "
            "outbound message (Create, Update or CreateAndUpdate)"
        )
    trigger = Trigger(flow.flow, record_trigger, flow.filter_formula, flow.requires_change)
    if flow.filter_formula is not None:
        try:
            formula.check(flow.filter_formula, field_types(schema), trigger.on_create)
        except formula.FormulaError as error:
            raise DeploymentError(
                f"{flow.source}: filterFormula {flow.filter_formula!r}: {error}"
            ) from None
    return trigger


def _message(
    message: OutboundMessage, bundle: OrgBundle, schema: ObjectSchema, skipped: list[str]
) -> Message | None:
    route = message.route
    if route is None:
        skipped.append(f"{message.source}: {message.full_name} posts to {message.endpoint_url}, "
                       "no gateway route (/salesforce/outbound/<contract>)")  # fmt: skip
        return None
    for name in message.fields:
        if schema.field(name) is None:
            raise DeploymentError(
                f"{message.source}: {message.full_name} sends field {name}, which Opportunity "
                "does not have (add its field file to the bundle)"
            )
    triggers = []
    for flow in bundle.flows_sending(message):
        reason = _not_run(flow)
        if reason:
            skipped.append(f"{flow.source}: {reason}")
        else:
            triggers.append(_trigger(flow, schema))
    path = f"/salesforce/outbound/{route}"
    return Message(
        message.full_name, route, path, message.fields, message.include_session_id, tuple(triggers)
    )


def _not_run(flow: FlowTrigger) -> str | None:
    if not flow.active:
        return f"flow {flow.flow} is not active"
    if flow.trigger_type != "RecordAfterSave":
        return f"flow {flow.flow} is not an after-save record-triggered flow"
    return None


def load(root: Path) -> Deployment:
    """The bundle at ``root`` as the mock org runs it; DeploymentError when it cannot."""
    try:
        bundle = load_bundle(root)
    except BundleError as error:
        raise DeploymentError(f"org bundle {root}: {error}") from None
    skipped: list[str] = []
    rules = []
    for rule in bundle.fields:
        if rule.object == OBJECT:
            rules.append(rule)
        else:
            skipped.append(f"{rule.source}: a field of {rule.object} (the mock holds {OBJECT})")
    try:
        schema = opportunity_schema(rules)
    except SchemaError as error:
        raise DeploymentError(str(error)) from None
    messages = []
    for message in bundle.outbound_messages:
        if message.object != OBJECT:
            skipped.append(f"{message.source}: {message.full_name} is on {message.object}")
            continue
        made = _message(message, bundle, schema, skipped)
        if made is not None:
            messages.append(made)
    return Deployment(root, schema, tuple(messages), bundle.apex_classes, tuple(skipped))


@cache
def cached(root: Path) -> Deployment:
    """One load per process and bundle (every gunicorn worker reads it once)."""
    return load(root)
