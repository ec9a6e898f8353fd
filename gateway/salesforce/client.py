"""Calling Salesforce with the right credential: one API plus the token rules.

The legacy SessionId (from the message, when that mode is on) first; OAuth otherwise, or
when the SessionId has expired; and exactly one token refresh on ``INVALID_SESSION_ID``
before the error is passed up. Every call to Salesforce -- a callback, the read of an
Opportunity the Id-only contract did not send, the reconciliation query -- goes through
:meth:`SalesforceClient._with_token`, so that rule exists once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis
import requests

from gateway.jobs import FieldValue
from gateway.salesforce.api import CallbackApi, RecordUpdate, RestApi, make_api
from gateway.salesforce.auth import AccessToken, TokenManager
from gateway.salesforce.errors import OrgMismatch, RecordOutcome, SalesforceError
from gateway.salesforce.settings import SalesforceSettings
from gateway.secrets import SecretBox
from gateway.settings import CoreSettings

T = TypeVar("T")


class SalesforceClient:
    """One API plus the credential rules: SessionId (legacy) -> OAuth, refresh once."""

    def __init__(
        self,
        settings: SalesforceSettings,
        api: CallbackApi,
        tokens: TokenManager,
        *,
        rest: RestApi,
    ) -> None:
        self.settings = settings
        self.api = api
        self.tokens = tokens
        #: queries always go over REST, whatever API writes the callbacks
        self._rest = rest

    def update(
        self,
        org_id: str,
        records: Sequence[RecordUpdate],
        *,
        legacy: AccessToken | None = None,
    ) -> list[RecordOutcome]:
        return self._with_token(
            legacy, lambda token: self.api.update(token, org_id, records), org_id=org_id
        )

    def read_opportunity(
        self,
        org_id: str,
        record_id: str,
        fields: Sequence[str],
        *,
        legacy: AccessToken | None = None,
    ) -> dict[str, FieldValue]:
        return self._with_token(
            legacy,
            lambda token: self.api.read_opportunity(token, org_id, record_id, fields),
            org_id=org_id,
        )

    def query(self, soql: str, *, batch_size: int) -> tuple[str, Iterator[dict[str, Any]]]:
        """(the org the token belongs to, its records): every page is fetched with the
        same token rules as a callback (one refresh on ``INVALID_SESSION_ID``)."""
        token = self.tokens.get()
        org = token.org_id
        if not org:
            raise SalesforceError(
                "NO_ORG_ID", "the token response did not name the org (no 'id' URL)"
            )
        pages = self._with_token(
            None, lambda t: list(self._rest.query(t, soql, batch_size)), org_id=org
        )
        return org, (record for page in pages for record in page)

    def _with_token(
        self, legacy: AccessToken | None, call: Callable[[AccessToken], T], *, org_id: str
    ) -> T:
        if legacy is not None:
            try:
                return call(legacy)
            except SalesforceError as error:
                if error.kind != "session":
                    raise
                if not self.settings.oauth_configured:
                    raise SalesforceError(
                        "NO_CREDENTIAL",
                        "the message's SessionId expired and no OAuth credential is "
                        "configured (set SFGW_SF_CLIENT_ID)",
                    ) from None
        token = self.tokens.get()
        _check_org(token, org_id)
        try:
            return call(token)
        except SalesforceError as error:
            if error.kind != "session":
                raise
        self.tokens.invalidate(token)
        return call(self.tokens.get())


def _check_org(token: AccessToken, org_id: str) -> None:
    """Refuse an OAuth token of another org (ids compared by their 15-character form)."""
    if token.org_id and token.org_id[:15] != org_id[:15]:
        raise OrgMismatch(token.org_id[:15], org_id[:15])


def build_client(
    settings: SalesforceSettings,
    *,
    core: CoreSettings,
    redis_client: redis.Redis,
    http: requests.Session,
    box: SecretBox,
    partner_wsdl: Path,
) -> SalesforceClient:
    """The client a worker process uses: its API, the shared token, REST for queries."""
    tokens = TokenManager(settings, core, redis_client, http, box=box)
    api = make_api(settings, http, partner_wsdl)
    return SalesforceClient(settings, api, tokens, rest=RestApi(settings, http))
