"""Which Apex callback classes the org has, and the governor limit they run under: one
JSON document in the database, like the fault document, so a change through
``PUT /admin/apex`` reaches every gunicorn worker at once.

``deployed`` false acts as an org where the bundle's classes were never deployed: the
REST resource answers 404 ``NOT_FOUND`` and the SOAP service the ``No operation
available`` fault. ``dml_row_limit`` is Apex's 10,000 DML rows per transaction; a test
lowers it to force the ``System.LimitException`` of a batch above it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from mock_salesforce.store.database import Database

#: Apex's limit of rows processed by DML statements in one transaction.
DML_ROW_LIMIT = 10_000


@dataclass(frozen=True)
class ApexClasses:
    deployed: bool = True
    dml_row_limit: int = DML_ROW_LIMIT

    def changed(self, values: Mapping[str, Any]) -> ApexClasses:
        """A copy with ``values`` applied; ValueError naming a field that is wrong."""
        unknown = set(values) - {"deployed", "dml_row_limit"}
        if unknown:
            raise ValueError(f"unknown Apex setting(s): {', '.join(sorted(unknown))}")
        deployed = values.get("deployed", self.deployed)
        if not isinstance(deployed, bool):
            raise ValueError("deployed must be true or false")
        limit = values.get("dml_row_limit", self.dml_row_limit)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ValueError("dml_row_limit must be a whole number from 0")
        return replace(self, deployed=deployed, dml_row_limit=limit)


class ApexDeployment(Database):
    def apex_classes(self, *, deployed_by_default: bool = True) -> ApexClasses:
        row = self.db.execute("SELECT value FROM kv WHERE key = 'apex'").fetchone()
        start = ApexClasses(deployed=deployed_by_default)
        return start.changed(json.loads(row["value"])) if row else start

    def set_apex_classes(
        self, values: Mapping[str, Any], *, deployed_by_default: bool = True
    ) -> ApexClasses:
        with self.tx():
            current = self.apex_classes(deployed_by_default=deployed_by_default)
            updated = current.changed(values)
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES ('apex', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                (json.dumps(asdict(updated)),),
            )
        return updated
