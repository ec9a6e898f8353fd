"""The org bundle as typed facts: ``load_bundle(path) -> OrgBundle``.

What the rest of the product (and the mock org) needs to know about the Salesforce side
is small: which outbound messages exist, where they post and which fields they carry;
when a flow sends them; what the custom fields allow; who may do what. This module reads
every metadata file of the bundle strictly (:mod:`gateway.org.metadata`) and answers with
those facts as frozen dataclasses, so nobody downstream walks XML.

It also checks that the files agree with each other, because a deploy would fail (or,
worse, succeed and misbehave) if they did not: a flow must send an outbound message that
exists, on the object it is triggered by; a permission set must name fields and classes
that exist; a field file's name must be its ``fullName``.

Files of metadata types outside the schema subset are not read; they are listed in
:attr:`OrgBundle.skipped`, so a user's own project may hold more than the gateway's
components while the gateway's own bundle is checked to hold nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.contracts import OUTBOUND_ROUTE_PREFIX
from gateway.org.errors import BundleError
from gateway.org.metadata import component_name, kind_of, parse_metadata
from gateway.org.project import SfdxProject, load_project
from generated.salesforce_metadata import (
    ApexClass,
    CustomField,
    ExternalClientApplication,
    ExtlClntAppConfigurablePolicies,
    ExtlClntAppOauthConfigurablePolicies,
    ExtlClntAppOauthSettings,
    Flow,
    PermissionSet,
    Workflow,
)


@dataclass(frozen=True)
class OutboundMessage:
    """One ``outboundMessages`` entry of ``workflows/<object>.workflow-meta.xml``."""

    object: str
    full_name: str
    label: str
    endpoint_url: str
    fields: tuple[str, ...]
    include_session_id: bool
    integration_user: str
    api_version: float
    source: str

    @property
    def action_name(self) -> str:
        """How a flow's action call names it: ``Opportunity.Sfgw_Opportunity_Id_Only``."""
        return f"{self.object}.{self.full_name}"

    @property
    def route(self) -> str | None:
        return route_of(self.endpoint_url)


def route_of(endpoint_url: str) -> str | None:
    """The contract an endpoint posts to: ``opportunity_id_only`` for
    ``https://host/salesforce/outbound/opportunity_id_only``; ``None`` for an endpoint that
    is not a gateway route (a user's bundle may hold other outbound messages)."""
    path = urlsplit(endpoint_url).path
    marker = path.rfind(OUTBOUND_ROUTE_PREFIX)
    if marker < 0:
        return None
    name = path[marker + len(OUTBOUND_ROUTE_PREFIX) :]
    return name if name and "/" not in name else None


@dataclass(frozen=True)
class FlowTrigger:
    """When a record-triggered flow runs, and which outbound messages it sends.

    ``filter_formula`` is the flow's entry condition as written
    (``AND(ISCHANGED({!$Record.StageName}), {!$Record.IsWon})``); the mock org evaluates it.
    """

    flow: str
    label: str
    active: bool
    object: str | None
    trigger_type: str | None
    record_trigger_type: str | None
    filter_formula: str | None
    outbound_messages: tuple[str, ...]
    source: str
    #: ``doesRequireRecordChangedToMeetCriteria``: on update, run only when the record
    #: did not meet the condition before the save.
    requires_change: bool = False


@dataclass(frozen=True)
class FieldRule:
    """A custom field: what the org accepts in it (the callback writes two of them)."""

    object: str
    name: str
    type: str | None
    label: str | None
    length: int | None
    unique: bool
    external_id: bool
    required: bool
    picklist_values: tuple[str, ...]
    restricted: bool
    source: str
    #: Unique values compare case-sensitively (``caseSensitive``; Salesforce's default is
    #: false: ``ABC`` and ``abc`` are duplicates).
    case_sensitive: bool = False


@dataclass(frozen=True)
class PermissionSetRule:
    """What a permission set grants, in the terms the integration user needs."""

    name: str
    label: str
    user_permissions: tuple[str, ...]
    readable_objects: tuple[str, ...]
    editable_objects: tuple[str, ...]
    editable_fields: tuple[str, ...]
    apex_classes: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class ExternalClientApp:
    """The OAuth client the workers use; never holds a key, secret or certificate."""

    name: str
    label: str | None
    oauth_scopes: tuple[str, ...]
    permitted_users: str | None
    permission_sets: tuple[str, ...]
    client_credentials_user: str | None
    source: str


@dataclass(frozen=True)
class OrgBundle:
    root: Path
    project: SfdxProject
    outbound_messages: tuple[OutboundMessage, ...]
    flows: tuple[FlowTrigger, ...]
    fields: tuple[FieldRule, ...]
    permission_sets: tuple[PermissionSetRule, ...]
    apex_classes: tuple[str, ...]
    external_client_apps: tuple[ExternalClientApp, ...]
    files: tuple[str, ...]
    skipped: tuple[str, ...]

    def field(self, object_name: str, name: str) -> FieldRule | None:
        return next((f for f in self.fields if (f.object, f.name) == (object_name, name)), None)

    def messages_for_route(self, contract: str) -> list[OutboundMessage]:
        return [m for m in self.outbound_messages if m.route == contract]

    def flows_sending(self, message: OutboundMessage) -> list[FlowTrigger]:
        return [f for f in self.flows if message.action_name in f.outbound_messages]


def _enum(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def _messages(workflow: Workflow, object_name: str, source: str) -> list[OutboundMessage]:
    return [
        OutboundMessage(
            object=object_name,
            full_name=message.full_name or "",
            label=message.name,
            endpoint_url=message.endpoint_url,
            fields=tuple(message.fields),
            include_session_id=message.include_session_id,
            integration_user=message.integration_user,
            api_version=message.api_version,
            source=source,
        )
        for message in workflow.outbound_messages
    ]


def _flow(flow: Flow, name: str, source: str) -> FlowTrigger:
    start = flow.start
    return FlowTrigger(
        flow=name,
        label=flow.label,
        active=_enum(flow.status) == "Active",
        object=start.object_value if start else None,
        trigger_type=_enum(start.trigger_type) if start else None,
        record_trigger_type=_enum(start.record_trigger_type) if start else None,
        filter_formula=start.filter_formula if start else None,
        outbound_messages=tuple(_sent_messages(flow, source)),
        source=source,
        requires_change=bool(start.does_require_record_changed_to_meet_criteria)
        if start
        else False,
    )


def _sent_messages(flow: Flow, source: str) -> list[str]:
    """The outbound messages the flow sends, following connectors from its start."""
    calls = {call.name: call for call in flow.action_calls}
    sent: list[str] = []
    target = flow.start.connector.target_reference if flow.start and flow.start.connector else None
    seen: set[str] = set()
    while target is not None and target not in seen:
        seen.add(target)
        call = calls.get(target)
        if call is None:
            raise BundleError(f"{source}: the flow connects to {target!r}, which is no action call")
        if _enum(call.action_type) == "outboundMessage":
            sent.append(call.action_name)
        target = call.connector.target_reference if call.connector else None
    return sent


def _field(field: CustomField, object_name: str, name: str, source: str) -> FieldRule:
    if field.full_name != name:
        raise BundleError(
            f"{source}: fullName {field.full_name!r} must match the file name {name!r}"
        )
    value_set = field.value_set
    definition = value_set.value_set_definition if value_set else None
    return FieldRule(
        object=object_name,
        name=name,
        type=_enum(field.type_value),
        label=field.label,
        length=field.length,
        unique=bool(field.unique),
        external_id=bool(field.external_id),
        required=bool(field.required),
        picklist_values=tuple(v.full_name for v in definition.value if v.full_name)
        if definition
        else (),
        restricted=bool(value_set.restricted) if value_set else False,
        source=source,
        case_sensitive=bool(field.case_sensitive),
    )


def _permission_set(permissions: PermissionSet, name: str, source: str) -> PermissionSetRule:
    objects = permissions.object_permissions
    return PermissionSetRule(
        name=name,
        label=permissions.label,
        user_permissions=tuple(p.name for p in permissions.user_permissions if p.enabled),
        readable_objects=tuple(o.object_value for o in objects if o.allow_read),
        editable_objects=tuple(o.object_value for o in objects if o.allow_edit),
        editable_fields=tuple(f.field_value for f in permissions.field_permissions if f.editable),
        apex_classes=tuple(c.apex_class for c in permissions.class_accesses if c.enabled),
        source=source,
    )


AppPart = (
    ExtlClntAppOauthSettings
    | ExtlClntAppOauthConfigurablePolicies
    | ExtlClntAppConfigurablePolicies
)


class _Collected:
    """The parsed components of a bundle, by type, before they are cross-checked."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []
        self.flows: list[FlowTrigger] = []
        self.fields: list[FieldRule] = []
        self.permission_sets: list[PermissionSetRule] = []
        self.classes: list[str] = []
        self.apps: dict[str, tuple[ExternalClientApplication, str]] = {}
        self.app_parts: list[tuple[AppPart, str]] = []
        self.files: list[str] = []
        self.skipped: list[str] = []

    def add(self, path: Path, display: str) -> None:
        kind = kind_of(path)
        if kind is None:
            self.skipped.append(display)
            return
        parsed = parse_metadata(path, display)
        self.files.append(display)
        name = component_name(path, kind)
        if isinstance(parsed, Workflow):
            self.messages.extend(_messages(parsed, name, display))
        elif isinstance(parsed, Flow):
            self.flows.append(_flow(parsed, name, display))
        elif isinstance(parsed, CustomField):
            if path.parent.name != "fields" or path.parent.parent.parent.name != "objects":
                raise BundleError(f"{display}: a field belongs in objects/<Object>/fields/")
            self.fields.append(_field(parsed, path.parent.parent.name, name, display))
        elif isinstance(parsed, PermissionSet):
            self.permission_sets.append(_permission_set(parsed, name, display))
        elif isinstance(parsed, ApexClass):
            if not path.with_name(f"{name}.cls").is_file():
                raise BundleError(f"{display}: its class source {name}.cls is missing")
            self.classes.append(name)
        elif isinstance(parsed, ExternalClientApplication):
            self.apps[name] = (parsed, display)
        else:
            self.app_parts.append((parsed, display))


def _external_client_apps(collected: _Collected) -> list[ExternalClientApp]:
    scopes: dict[str, tuple[str, ...]] = {}
    policies: dict[str, ExtlClntAppOauthConfigurablePolicies] = {}
    for part, display in collected.app_parts:
        if part.external_client_application not in collected.apps:
            raise BundleError(
                f"{display}: externalClientApplication {part.external_client_application!r} "
                "is not an external client app of the bundle (externalClientApps/)"
            )
        if isinstance(part, ExtlClntAppOauthSettings):
            listed = (part.comma_separated_oauth_scopes or "").split(",")
            scopes[part.external_client_application] = tuple(s.strip() for s in listed if s.strip())
        elif isinstance(part, ExtlClntAppOauthConfigurablePolicies):
            policies[part.external_client_application] = part
    apps = []
    for name, (app, display) in sorted(collected.apps.items()):
        policy = policies.get(name)
        listed = (policy.comma_separated_permission_set or "").split(",") if policy else []
        apps.append(
            ExternalClientApp(
                name=name,
                label=app.label,
                oauth_scopes=scopes.get(name, ()),
                permitted_users=_enum(policy.permitted_users_policy_type) if policy else None,
                permission_sets=tuple(s.strip() for s in listed if s.strip()),
                client_credentials_user=policy.client_credentials_flow_user if policy else None,
                source=display,
            )
        )
    return apps


def _check_flows(bundle: OrgBundle) -> None:
    """Each flow sends outbound messages that exist, on the object it is triggered by."""
    messages = {m.action_name: m for m in bundle.outbound_messages}
    if len(messages) != len(bundle.outbound_messages):
        raise BundleError("two outbound messages of one object share a fullName")
    for flow in bundle.flows:
        for action in flow.outbound_messages:
            message = messages.get(action)
            if message is None:
                raise BundleError(
                    f"{flow.source}: sends outbound message {action}, which no workflow defines"
                )
            if message.object != flow.object:
                raise BundleError(
                    f"{flow.source}: a flow on {flow.object} cannot send {action} "
                    f"(an outbound message of {message.object})"
                )


def _check_grants(bundle: OrgBundle) -> None:
    """Permission sets name fields and classes of the bundle; apps name its permission sets."""
    fields = {f"{f.object}.{f.name}" for f in bundle.fields}
    sets = {p.name for p in bundle.permission_sets}
    for permissions in bundle.permission_sets:
        for name in permissions.editable_fields:
            if name.endswith("__c") and name not in fields:
                raise BundleError(
                    f"{permissions.source}: field {name} is not a field of the bundle"
                )
        for apex in permissions.apex_classes:
            if apex not in bundle.apex_classes:
                raise BundleError(f"{permissions.source}: Apex class {apex} is not in the bundle")
    for app in bundle.external_client_apps:
        for name in app.permission_sets:
            if name not in sets:
                raise BundleError(f"{app.source}: permission set {name} is not in the bundle")


def load_bundle(path: Path) -> OrgBundle:
    """Read the SFDX project at ``path``: every metadata file strictly, then the facts."""
    project = load_project(path)
    collected = _Collected()
    for directory in project.directories():
        for file in sorted(directory.rglob("*-meta.xml")):
            collected.add(file, str(file.relative_to(path)))
    bundle = OrgBundle(
        root=path,
        project=project,
        outbound_messages=tuple(collected.messages),
        flows=tuple(collected.flows),
        fields=tuple(collected.fields),
        permission_sets=tuple(collected.permission_sets),
        apex_classes=tuple(sorted(collected.classes)),
        external_client_apps=tuple(_external_client_apps(collected)),
        files=tuple(collected.files),
        skipped=tuple(collected.skipped),
    )
    _check_flows(bundle)
    _check_grants(bundle)
    return bundle
