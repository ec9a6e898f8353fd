"""The mock org's HTTP API (Falcon): routes, OAuth, the SOAP Partner endpoint and the
error shapes.

A thin shell: REST lives in :mod:`rest` and :mod:`rest_query`, SOAP in :mod:`partner`,
the Apex callback classes in :mod:`apex`, the admin endpoints in :mod:`admin`; decisions
live in :mod:`records`, :mod:`updates`, :mod:`soql`, :mod:`paging` and :mod:`oauth`; what
every resource shares is :class:`Org`.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import falcon

from gateway import sfid
from mock_salesforce import partner
from mock_salesforce.apex import register_apex
from mock_salesforce.oauth import OAuthError, check_grant
from mock_salesforce.org import Org
from mock_salesforce.rest import (
    CollectionResource,
    LimitsResource,
    OpportunityResource,
    RestGuard,
    read_body,
    rest_error,
)
from mock_salesforce.rest_query import QueryMoreResource, QueryResource
from mock_salesforce.settings import SalesforceSettings


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Token:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        from urllib.parse import parse_qsl

        form = dict(parse_qsl(read_body(req).decode("utf-8", "replace")))
        form.update({k: v for k, v in req.params.items() if isinstance(v, str)})
        self.org.store.count_call(None, kind="token")
        now = time.time()
        try:
            check_grant(form, self.org.oauth, now)
        except OAuthError as error:
            resp.status = falcon.HTTP_400
            resp.media = error.body()
            return
        # issue_expired_tokens: a token that is dead on arrival (ttl 0), as after an
        # admin revoked the app's sessions between the grant and the first call
        expired = bool(self.org.store.faults().get("issue_expired_tokens"))
        ttl = 0.0 if expired else self.org.settings.session_ttl
        token = self.org.store.new_session("oauth", ttl, self.org.settings.org_id15, now)
        issued = str(int(now * 1000))
        user_id = sfid.to18("0055g00000SfGwA")
        resp.media = {
            "access_token": token,
            "instance_url": self.org.base_url,
            "id": f"{self.org.settings.login_url}/id/{self.org.settings.org_id}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "scope": "api",
            "signature": hashlib.sha256(f"{issued}{token[:8]}".encode()).hexdigest()[:43],
        }


class PartnerResource:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response, version: str, org15: str) -> None:
        status, body = partner.handle(self.org, read_body(req), org15)
        resp.status = falcon.code_to_http_status(status)
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = body


def _error_handler(
    req: falcon.Request, resp: falcon.Response, error: Exception, params: dict[str, Any]
) -> None:
    """Errors in Salesforce's shapes: JSON arrays under REST, SOAP faults under SOAP.

    Without this Falcon answers unknown paths and crashes with its own JSON objects,
    which no Salesforce client expects (and SOAP clients cannot parse).
    """
    if isinstance(error, falcon.HTTPError):
        status, message = error.status_code, error.description or error.title or "error"
    else:
        status, message = 500, "An unexpected error occurred. Please include this ErrorId."
    if req.path.startswith("/services/Soap/"):
        resp.status = falcon.HTTP_500
        resp.content_type = "text/xml; charset=utf-8"
        resp.data = partner.fault("UNKNOWN_EXCEPTION", message)
    elif req.path.startswith(("/services/data/", "/services/apexrest/")):
        if status == 404:
            rest_error(resp, 404, "NOT_FOUND", "The requested resource does not exist")
        elif status == 405:
            rest_error(resp, 405, "METHOD_NOT_ALLOWED", f"HTTP Method '{req.method}' not allowed")
        else:
            rest_error(resp, status, "UNKNOWN_EXCEPTION", message)
    elif isinstance(error, falcon.HTTPError):
        resp.status = error.status
        resp.media = error.to_dict()
    else:
        resp.status = falcon.HTTP_500
        resp.media = {"title": "500 Internal Server Error"}


def create_app(settings: SalesforceSettings | None = None) -> falcon.App[Any, Any]:
    from mock_salesforce.admin import register_admin

    settings = settings or SalesforceSettings.from_env()
    org = Org(settings)
    app = falcon.App(middleware=[RestGuard(org)])
    app.add_route("/healthz", Health())
    app.add_route("/services/oauth2/token", Token(org))
    app.add_route("/services/data/{version}/sobjects/Opportunity/{oid}", OpportunityResource(org))
    app.add_route("/services/data/{version}/composite/sobjects", CollectionResource(org))
    app.add_route("/services/data/{version}/query", QueryResource(org))
    app.add_route("/services/data/{version}/query/{locator}", QueryMoreResource(org))
    app.add_route("/services/data/{version}/limits", LimitsResource(org))
    app.add_route("/services/Soap/u/{version}/{org15}", PartnerResource(org))
    register_apex(app, org)
    register_admin(app, org)
    app.add_error_handler(Exception, _error_handler)
    app.add_error_handler(falcon.HTTPError, _error_handler)
    return app
