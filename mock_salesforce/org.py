"""What every resource of the org's HTTP API needs: settings, the org bundle it runs on,
a per-thread store, the OAuth configuration and the random source for injected faults.

The store is SQLite, so every gunicorn worker sees the same org, the same sessions, the
same API usage and the same injected faults; each thread keeps its own connection.
"""

from __future__ import annotations

import random
import threading

from mock_salesforce import deployment, faults
from mock_salesforce.oauth import OAuthConfig
from mock_salesforce.schema import ObjectSchema
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.store import ApexClasses, OrgStore


class Org:
    def __init__(self, settings: SalesforceSettings) -> None:
        self.settings = settings
        #: The bundle as the org runs it (loaded once per process).
        self.deployment = deployment.cached(settings.bundle_path)
        self.schema: ObjectSchema = self.deployment.schema
        self.oauth = OAuthConfig.build(
            settings.client_id,
            settings.client_secret,
            settings.username,
            settings.login_url,
            settings.jwt_cert_path,
        )
        self.base_url = (settings.base_url or "http://127.0.0.1").rstrip("/")
        self._local = threading.local()
        self.rng = random.Random()

    @property
    def store(self) -> OrgStore:
        store: OrgStore | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = OrgStore(self.settings.db_path)
            store.ensure_fields(self.schema.custom_fields)
        return store

    def api_limit(self) -> int:
        """The daily limit in effect (an override of 0 allows no call at all)."""
        return faults.api_limit(self.store.faults(), self.settings.daily_api_limit)

    def apex_classes(self) -> ApexClasses:
        """The Apex callback classes as deployed now (``PUT /admin/apex`` changes them)."""
        return self.store.apex_classes(deployed_by_default=self.apex_by_default)

    @property
    def apex_by_default(self) -> bool:
        """Deployed when the bundle holds the classes, unless SFGW_MOCKSF_APEX_DEPLOYED says."""
        chosen = self.settings.apex_deployed
        return self.deployment.apex_deployed if chosen is None else chosen

    def usage_header(self) -> str:
        return f"api-usage={self.store.usage()}/{self.api_limit()}"
