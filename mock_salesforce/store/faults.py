"""The injected faults, one JSON document in the database that every process reads."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mock_salesforce.store.database import Database

DEFAULT_FAULTS: dict[str, Any] = {
    "lock_probability": 0.0,
    "lock_first_attempt": False,
    "unavailable_probability": 0.0,
    "validation_fail_ids": [],
    "daily_api_limit": None,
}


class FaultDocument(Database):
    def faults(self) -> dict[str, Any]:
        row = self.db.execute("SELECT value FROM kv WHERE key = 'faults'").fetchone()
        merged = dict(DEFAULT_FAULTS)
        if row:
            merged.update(json.loads(row["value"]))
        return merged

    def set_faults(self, values: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(values) - set(DEFAULT_FAULTS)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        merged = {**self.faults(), **values}
        with self.tx():
            self.db.execute(
                "INSERT INTO kv (key, value) VALUES ('faults', ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                (json.dumps(merged),),
            )
            if "lock_first_attempt" in values:
                self.db.execute("DELETE FROM locked_once")
        return merged

    def first_lock(self, oid: str) -> bool:
        """True the first time this record is seen (for "lock on first attempt only")."""
        cursor = self.db.execute("INSERT OR IGNORE INTO locked_once VALUES (?)", (oid,))
        return cursor.rowcount == 1
