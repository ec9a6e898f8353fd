"""The org's data in SQLite: Opportunities, outbound-message definitions, the delivery
queue, sessions, API usage and injected faults.

:class:`OrgStore` is one connection (create one per thread/process) with every part's
operations; each part lives in its own module over the same tables
(:mod:`.database` creates them):

* :mod:`.records` -- Opportunities, the workflow rule, query cursors;
* :mod:`.delivery_queue` -- definitions, notifications, messages, attempts, sender lease;
* :mod:`.access` -- sessions, API usage and the counters of faults that fired;
* :mod:`.faults` -- the injected-fault document (its rules: :mod:`mock_salesforce.faults`);
* :mod:`.apex_classes` -- whether the Apex callback classes are deployed, and their row limit.

Secrets are never stored: sessions are kept as SHA-256 hashes of the token.
"""

from __future__ import annotations

from mock_salesforce.faults import DEFAULT_FAULTS
from mock_salesforce.store.access import Access
from mock_salesforce.store.apex_classes import ApexClasses, ApexDeployment
from mock_salesforce.store.database import token_hash, utc_day
from mock_salesforce.store.delivery_queue import Definition
from mock_salesforce.store.faults import FaultDocument
from mock_salesforce.store.records import OPPORTUNITY_COLUMNS, OrgRecords

__all__ = [
    "DEFAULT_FAULTS",
    "OPPORTUNITY_COLUMNS",
    "ApexClasses",
    "Definition",
    "OrgStore",
    "token_hash",
    "utc_day",
]


class OrgStore(OrgRecords, Access, FaultDocument, ApexDeployment):
    """One connection to the org database; create one per thread/process."""
