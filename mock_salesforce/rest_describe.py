"""What the org says about itself over REST: its API versions, the resources of a version,
the objects it has (``describe``) and its limits.

Shapes follow the REST API Developer Guide ("Versions", "Resources by Version",
"Describe Global", "sObject Basic Information", "sObject Describe", "Limits"); the
fields of an object come from :mod:`mock_salesforce.schema`, so the bundle's custom
fields appear with the type, length, uniqueness, external id and picklist values of
their field files. Properties the mock has no use for are given Salesforce's usual
values for a standard object and a field of the type.
"""

from __future__ import annotations

from typing import Any

import falcon

from mock_salesforce import versions
from mock_salesforce.org import Org
from mock_salesforce.rest import NOT_FOUND, is_object, rest_error
from mock_salesforce.schema import FieldSpec, ObjectSchema

#: The resources of a version the mock serves (``GET /services/data/vXX.X/``).
RESOURCES = ("composite", "limits", "query", "sobjects")


def _urls(schema: ObjectSchema, version: str) -> dict[str, str]:
    base = f"/services/data/{version}/sobjects/{schema.name}"
    return {
        "sobject": base,
        "describe": f"{base}/describe",
        "rowTemplate": f"{base}/{{ID}}",
    }


def sobject_summary(schema: ObjectSchema, version: str) -> dict[str, Any]:
    """An object as Describe Global and Basic Information list it."""
    return {
        "activateable": False, "createable": True, "custom": False, "customSetting": False,
        "deletable": True, "deprecatedAndHidden": False, "feedEnabled": False,
        "hasSubtypes": False, "isSubtype": False, "keyPrefix": schema.key_prefix,
        "label": schema.label, "labelPlural": schema.label_plural, "layoutable": True,
        "mergeable": False, "mruEnabled": True, "name": schema.name, "queryable": True,
        "replicateable": True, "retrieveable": True, "searchable": True, "triggerable": True,
        "undeletable": True, "updateable": True, "urls": _urls(schema, version),
    }  # fmt: skip


def describe_field(spec: FieldSpec) -> dict[str, Any]:
    """One field of ``sObject Describe``."""
    text = spec.kind in ("string", "id")
    return {
        "aggregatable": spec.type not in ("textarea",), "autoNumber": False,
        "byteLength": spec.length * 3 if text else 0, "calculated": spec.calculated,
        "caseSensitive": spec.case_sensitive, "createable": spec.createable,
        "custom": spec.custom, "defaultValue": None,
        "defaultedOnCreate": spec.kind == "boolean" or spec.name == "Id",
        "dependentPicklist": False, "deprecatedAndHidden": False, "digits": 0,
        "externalId": spec.external_id, "filterable": spec.type != "textarea",
        "groupable": spec.kind in ("string", "id", "boolean", "date"),
        "htmlFormatted": False, "idLookup": spec.id_lookup, "label": spec.label,
        "length": spec.length if text else 0, "name": spec.name, "nameField": spec.name_field,
        "nillable": spec.nillable, "permissionable": spec.custom and spec.nillable,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": value, "validFor": None,
             "value": value}
            for value in spec.picklist
        ],
        "precision": spec.precision, "referenceTo": list(spec.reference_to),
        "relationshipName": "Account" if spec.name == "AccountId" else None,
        "restrictedPicklist": spec.restricted, "scale": spec.scale, "soapType": spec.soap_type,
        "sortable": spec.type != "textarea", "type": spec.type, "unique": spec.unique,
        "updateable": spec.updateable,
    }  # fmt: skip


def describe_sobject(schema: ObjectSchema, version: str) -> dict[str, Any]:
    return {
        **sobject_summary(schema, version),
        "childRelationships": [],
        "fields": [describe_field(spec) for spec in schema.fields],
        "recordTypeInfos": [],
        "supportedScopes": [{"label": "All opportunities", "name": "everything"}],
    }


class VersionsResource:
    """``GET /services/data/``: no session needed (Salesforce lists them to anyone)."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = versions.supported(versions.newest_for(self.org.settings.api_version))


class ResourcesResource:
    """``GET /services/data/vXX.X/``: the resources of the version."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        resp.media = {name: f"/services/data/{version}/{name}" for name in RESOURCES}


class GlobalDescribeResource:
    """``GET /sobjects``: the objects of the org (one: Opportunity)."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        resp.media = {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [sobject_summary(self.org.schema, version)],
        }


class DescribeResource:
    """``GET /sobjects/Opportunity/describe``."""

    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, version: str, sobject: str
    ) -> None:
        if not is_object(sobject, self.org.schema):
            rest_error(resp, 404, "NOT_FOUND", NOT_FOUND)
            return
        resp.media = describe_sobject(self.org.schema, version)


class LimitsResource:
    rest = True

    def __init__(self, org: Org) -> None:
        self.org = org

    def on_get(self, req: falcon.Request, resp: falcon.Response, version: str) -> None:
        limit = self.org.api_limit()
        used = self.org.store.usage()
        resp.media = {"DailyApiRequests": {"Max": limit, "Remaining": max(limit - used, 0)}}
