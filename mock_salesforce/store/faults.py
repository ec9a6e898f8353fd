"""The injected faults, one JSON document in the database that every process reads.

What the fields mean is :mod:`mock_salesforce.faults`'s; here they are stored, merged
and used up. Counted faults (``lock_ids``, ``call_errors``) are taken inside a write
transaction, so two gunicorn workers never both use the last one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from mock_salesforce.faults import DEFAULT_FAULTS, check_faults
from mock_salesforce.store.database import Database


class FaultDocument(Database):
    def faults(self) -> dict[str, Any]:
        row = self.db.execute("SELECT value FROM kv WHERE key = 'faults'").fetchone()
        merged = copy.deepcopy(DEFAULT_FAULTS)  # callers may change what they get
        if row:
            merged.update(json.loads(row["value"]))
        return merged

    def set_faults(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Change the fields given (checked first, ValueError naming a bad one); the
        others keep their values."""
        checked = check_faults(values)
        with self.tx():
            merged = {**self.faults(), **checked}
            self._write_faults(merged)
            if "lock_first_attempt" in checked:
                self.db.execute("DELETE FROM locked_once")
        return merged

    def _write_faults(self, document: Mapping[str, Any]) -> None:
        self.db.execute(
            "INSERT INTO kv (key, value) VALUES ('faults', ?) ON CONFLICT (key) "
            "DO UPDATE SET value = excluded.value",
            (json.dumps(document),),
        )

    def first_lock(self, oid: str) -> bool:
        """True the first time this record is seen (for "lock on first attempt only")."""
        cursor = self.db.execute("INSERT OR IGNORE INTO locked_once VALUES (?)", (oid,))
        return cursor.rowcount == 1

    def take_lock(self, oid: str) -> bool:
        """True if ``lock_ids`` still refuses a save of ``oid`` (one of them is used up)."""
        if not self.faults()["lock_ids"]:
            return False
        with self.in_tx():
            document = self.faults()
            locks: dict[str, int] = document["lock_ids"]
            left = locks.get(oid, 0)
            if left <= 0:
                return False
            if left == 1:
                del locks[oid]
            else:
                locks[oid] = left - 1
            self._write_faults(document)
        return True

    def pop_call_error(self) -> str | None:
        """The next code of ``call_errors`` (used up), or None when none is left."""
        if not self.faults()["call_errors"]:
            return None  # the common case costs a read, not a write transaction
        with self.in_tx():
            document = self.faults()
            errors: list[str] = document["call_errors"]
            if not errors:
                return None
            code = errors.pop(0)
            self._write_faults(document)
        return code
