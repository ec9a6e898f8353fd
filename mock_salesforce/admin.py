"""Admin endpoints for tests, the demo and the CLI (loopback callers only).

They change the org the way an admin or a sales rep would (close deals, delete a record,
change outbound-message definitions) and inject faults. Everything is stored in SQLite,
so all gunicorn workers and the sender see the change at once.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import falcon

from mock_salesforce.records import iso_datetime

if TYPE_CHECKING:
    from mock_salesforce.org import Org


def _loopback_only(req: falcon.Request) -> None:
    try:
        loopback = ipaddress.ip_address(req.remote_addr or "").is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise falcon.HTTPForbidden(description="admin endpoints answer loopback callers only")


def _media(req: falcon.Request) -> dict[str, Any]:
    body = req.get_media(default_when_empty={})
    if not isinstance(body, dict):
        raise falcon.HTTPBadRequest(description="expected a JSON object")
    return body


#: The columns :func:`opportunity_view` reads.
VIEW_COLUMNS = (
    "Id", "Name", "StageName", "IsWon", "Amount", "Order_Number__c", "Order_Status__c",
    "LastModifiedDate", "IsDeleted", "update_count",
)  # fmt: skip


def opportunity_view(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "Id": record["Id"],
        "Name": record["Name"],
        "StageName": record["StageName"],
        "IsWon": record["IsWon"],
        "Amount": record["Amount"],
        "Order_Number__c": record["Order_Number__c"],
        "Order_Status__c": record["Order_Status__c"],
        "LastModifiedDate": iso_datetime(record["LastModifiedDate"]),
        "IsDeleted": record["IsDeleted"],
        "update_count": record["update_count"],
    }


def delivery_view(message: dict[str, Any], now: float) -> dict[str, Any]:
    return {
        "id": message["id"],
        "definition": message["definition"],
        "status": message["status"],
        "notifications": message["notification_count"],
        "attempts": message["attempts"],
        "last_error": message["last_error"],
        "next_attempt_in": (
            round(message["next_attempt_at"] - now, 3) if message["status"] == "pending" else None
        ),
        "age": round(now - message["created_at"], 3),
        "redeliveries": message["redeliveries"],
        "created_at": message["created_at"],
        "delivered_at": message["delivered_at"],
    }


class CloseWon:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        count = _media(req).get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 100_000:
            raise falcon.HTTPBadRequest(description="count must be a whole number 1..100000")
        resp.media = {"ids": self.org.store.close_won(count)}


class Opportunities:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        rows = self.org.store.opportunity_columns(VIEW_COLUMNS)
        resp.media = [opportunity_view(r) for r in rows]

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        count = _media(req).get("count", 1)
        if not isinstance(count, int) or not 1 <= count <= 100_000:
            raise falcon.HTTPBadRequest(description="count must be a whole number 1..100000")
        resp.media = {"ids": self.org.store.create_opportunities(count)}


class OneOpportunity:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_delete(self, req: falcon.Request, resp: falcon.Response, oid: str) -> None:
        _loopback_only(req)
        if not self.org.store.delete(oid):
            raise falcon.HTTPNotFound(description=f"no live Opportunity {oid}")
        resp.media = {"deleted": oid}

    def on_patch(self, req: falcon.Request, resp: falcon.Response, oid: str) -> None:
        """Change a record as a sales rep would (no API usage counted, rule applies)."""
        _loopback_only(req)
        from mock_salesforce.records import validate_changes
        from mock_salesforce.values import JsonValueError

        try:
            checked = validate_changes(_media(req), self.org.schema)
        except JsonValueError as error:
            raise falcon.HTTPBadRequest(description=str(error)) from None
        if checked.errors or self.org.store.get(oid) is None:
            reasons = "; ".join(e.message for e in checked.errors) or f"no Opportunity {oid}"
            raise falcon.HTTPBadRequest(description=reasons)
        self.org.store.update(oid, checked.changes)
        resp.media = opportunity_view(self.org.store.get(oid) or {})


class Deliveries:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        statuses = None if req.get_param_as_bool("all") else ["pending", "dropped"]
        now = time.time()
        rows = [delivery_view(m, now) for m in self.org.store.messages(statuses)]
        if req.get_param_as_bool("attempts"):
            for row in rows:
                row["attempt_log"] = self.org.store.attempts_of(row["id"])
        resp.media = rows


class Definitions:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        resp.media = [d.view() for d in self.org.store.definitions()]

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Replace the definitions. Each runs the bundle's flows for its contract (and
        sends the fields of the bundle's message) unless it gives its own ``triggers``
        (``[{flow, formula, record_trigger_type, requires_change}]``) and ``fields``."""
        _loopback_only(req)
        body = req.get_media()
        if not isinstance(body, list) or not all(
            isinstance(d, dict) and {"name", "contract", "endpoint_url"} <= d.keys() for d in body
        ):
            raise falcon.HTTPBadRequest(
                description="expected a list of {name, contract, endpoint_url, "
                "include_session_id, fields, triggers}"
            )
        try:
            specs = [self._resolved(spec) for spec in body]
        except ValueError as error:
            raise falcon.HTTPBadRequest(description=str(error)) from None
        resp.media = [d.view() for d in self.org.store.set_definitions(specs)]

    def _resolved(self, spec: dict[str, Any]) -> dict[str, Any]:
        from mock_salesforce import formula, triggers

        contract = str(spec["contract"])
        try:
            __import__(f"generated.{contract}")
        except ImportError:
            raise ValueError(f"unknown contract {contract}") from None
        deployment = self.org.deployment
        if spec.get("triggers") is not None:
            chosen = triggers.from_specs(spec["triggers"])
            for trigger in chosen:
                if trigger.formula is not None:
                    try:
                        deployment.check_formula(trigger.formula, trigger.on_create)
                    except formula.FormulaError as error:
                        raise ValueError(f"trigger {trigger.flow}: {error}") from None
        else:
            chosen = deployment.triggers_for(contract)
            if not chosen:
                raise ValueError(
                    f"definition {spec['name']}: no flow of the org bundle sends a message to "
                    f'contract {contract}; give its "triggers"'
                )
        fields = spec.get("fields")
        if fields is None:
            sent = {m.fields for m in deployment.messages if m.contract == contract}
            fields = list(sent.pop()) if len(sent) == 1 else None
        return {**spec, "triggers": chosen, "fields": fields}


class Notifications:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """How many notifications the flows queued (before any is batched or sent)."""
        _loopback_only(req)
        resp.media = {"queued": self.org.store.queued_notifications()}


class Faults:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        resp.media = self.org.store.faults()

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        try:
            resp.media = self.org.store.set_faults(_media(req))
        except ValueError as error:
            raise falcon.HTTPBadRequest(description=str(error)) from None


class Apex:
    """Whether the Apex callback classes are deployed, and their DML row limit."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        resp.media = asdict(self.org.apex_classes())

    def on_put(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        try:
            classes = self.org.store.set_apex_classes(
                _media(req), deployed_by_default=self.org.apex_by_default
            )
        except ValueError as error:
            raise falcon.HTTPBadRequest(description=str(error)) from None
        resp.media = asdict(classes)


class Usage:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        resp.media = {
            "api_requests": self.org.store.usage("api"),
            "token_requests": self.org.store.usage("token"),
            "daily_api_limit": self.org.api_limit(),
            "fired": self.org.store.fired(),
        }

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        self.org.store.reset_usage()
        resp.media = {"reset": True}


class Sessions:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_delete(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Expire every session and token (an admin revoking them, or the timeout passing)."""
        _loopback_only(req)
        resp.media = {"expired": self.org.store.expire_sessions()}

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Mint a session as the outbound-message user would get (for legacy-mode tests)."""
        _loopback_only(req)
        token = self.org.store.new_session(
            "om", self.org.settings.session_ttl, self.org.settings.org_id15
        )
        resp.media = {"session_id": token}


class OrgInfo:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        _loopback_only(req)
        s = self.org.settings
        resp.media = {
            "org_id": s.org_id,
            "api_version": s.api_version,
            "base_url": self.org.base_url,
            "time_scale": s.time_scale,
        }


def register_admin(app: falcon.App[Any, Any], org: Org) -> None:
    app.add_route("/admin/org", OrgInfo(org))
    app.add_route("/admin/close-won", CloseWon(org))
    app.add_route("/admin/opportunities", Opportunities(org))
    app.add_route("/admin/opportunities/{oid}", OneOpportunity(org))
    app.add_route("/admin/deliveries", Deliveries(org))
    app.add_route("/admin/definitions", Definitions(org))
    app.add_route("/admin/notifications", Notifications(org))
    app.add_route("/admin/faults", Faults(org))
    app.add_route("/admin/apex", Apex(org))
    app.add_route("/admin/usage", Usage(org))
    app.add_route("/admin/sessions", Sessions(org))
