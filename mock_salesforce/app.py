"""The mock org's HTTP API (Falcon): routes, OAuth, the SOAP Partner endpoint and the
error shapes.

A thin shell: REST lives in :mod:`rest_sobjects`, :mod:`rest_describe` and
:mod:`rest_query`, SOAP in :mod:`partner`, the Apex callback classes in :mod:`apex`, the
admin endpoints in :mod:`admin`; decisions live in :mod:`records`, :mod:`updates`,
:mod:`soql`, :mod:`paging` and :mod:`oauth`; what every resource shares is :class:`Org`.

Paths are matched with a trailing slash or without (``/query/?q=`` as simple-salesforce
sends it is ``/query``), as Salesforce matches them.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl

import falcon

from gateway import sfid
from mock_salesforce import partner
from mock_salesforce.apex import register_apex
from mock_salesforce.oauth import JWT_GRANT, OAuthError, basic_credentials, check_grant, signature
from mock_salesforce.org import Org
from mock_salesforce.rest import RestGuard, read_body, rest_error
from mock_salesforce.rest_describe import (
    DescribeResource,
    GlobalDescribeResource,
    LimitsResource,
    ResourcesResource,
    VersionsResource,
)
from mock_salesforce.rest_query import QueryMoreResource, QueryResource
from mock_salesforce.rest_sobjects import (
    CollectionResource,
    ExternalIdResource,
    RecordResource,
    SObjectRoot,
)
from mock_salesforce.settings import SalesforceSettings


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"status": "ok"}


class Token:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = dict(parse_qsl(read_body(req).decode("utf-8", "replace")))
        form.update({k: v for k, v in req.params.items() if isinstance(v, str)})
        self.org.store.count_call(None, kind="token")
        now = time.time()
        try:
            # The client may authenticate with HTTP Basic (client_secret_basic) instead of
            # client_id/client_secret in the body, as simple-salesforce does.
            basic = basic_credentials(req.get_header("Authorization"))
            if basic is not None:
                form.setdefault("client_id", basic[0])
                form.setdefault("client_secret", basic[1])
            grant = check_grant(form, self.org.oauth, now)
        except OAuthError as error:
            resp.status = falcon.HTTP_400
            resp.media = error.body()
            return
        # issue_expired_tokens: a token that is dead on arrival (ttl 0), as after an
        # admin revoked the app's sessions between the grant and the first call
        expired = bool(self.org.store.faults().get("issue_expired_tokens"))
        ttl = 0.0 if expired else self.org.settings.session_ttl
        token = self.org.store.new_session("oauth", ttl, self.org.settings.org_id15, now)
        user_id = sfid.to18("0055g00000SfGwA")
        identity = f"{self.org.settings.login_url}/id/{self.org.settings.org_id}/{user_id}"
        body = {
            "access_token": token,
            "instance_url": self.org.base_url,
            "id": identity,
            "token_type": "Bearer",
            "scope": "api",
        }
        if grant != JWT_GRANT:
            # Client credentials: issued_at and its signature, Base64 HMAC-SHA256 of
            # id + issued_at keyed with the consumer secret (the JWT flow sends neither).
            issued = str(int(now * 1000))
            body["issued_at"] = issued
            body["signature"] = signature(identity, issued, self.org.settings.client_secret)
        resp.media = body


class PartnerResource:
    def __init__(self, org: Org) -> None:
        self.org = org

    def on_post(
        self, req: falcon.Request, resp: falcon.Response, version: str, org15: str | None = None
    ) -> None:
        status, body = partner.handle(self.org, read_body(req), org15, version)
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
    app.req_options.strip_url_path_trailing_slash = True
    app.add_route("/healthz", Health())
    app.add_route("/services/oauth2/token", Token(org))
    data = "/services/data"
    app.add_route(data, VersionsResource(org))
    app.add_route(data + "/{version}", ResourcesResource(org))
    app.add_route(data + "/{version}/sobjects", GlobalDescribeResource(org))
    app.add_route(data + "/{version}/sobjects/{sobject}", SObjectRoot(org))
    app.add_route(data + "/{version}/sobjects/{sobject}/describe", DescribeResource(org))
    app.add_route(data + "/{version}/sobjects/{sobject}/{ref}", RecordResource(org))
    app.add_route(data + "/{version}/sobjects/{sobject}/{ref}/{value}", ExternalIdResource(org))
    app.add_route(data + "/{version}/composite/sobjects", CollectionResource(org))
    app.add_route(data + "/{version}/query", QueryResource(org))
    app.add_route(data + "/{version}/query/{locator}", QueryMoreResource(org))
    app.add_route(data + "/{version}/limits", LimitsResource(org))
    partner_api = PartnerResource(org)
    app.add_route("/services/Soap/u/{version}", partner_api)
    app.add_route("/services/Soap/u/{version}/{org15}", partner_api)
    register_apex(app, org)
    register_admin(app, org)
    app.add_error_handler(Exception, _error_handler)
    app.add_error_handler(falcon.HTTPError, _error_handler)
    return app
