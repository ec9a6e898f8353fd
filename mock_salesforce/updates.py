"""Saving a batch of Opportunity updates (and creates) the way Salesforce does (one
transaction).

Shared by REST (single record, sObject Collections, upsert), SOAP ``update()`` and the
Apex classes: each record gets a SaveResult in input order; with ``allOrNone`` one
failure rolls back the rest (``ALL_OR_NONE_OPERATION_ROLLED_BACK``). The field rules are
:mod:`mock_salesforce.records`'s; uniqueness is checked here, against the other records
and the earlier records of the same batch (``DUPLICATE_VALUE``). Injected faults (row
lock, validation rule) are decided here too, so every API sees the same ones, and
counted (``lock_error``, ``validation_error``) in the save's own transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway import sfid
from mock_salesforce.records import ApiError, check_id, validate_changes
from mock_salesforce.schema import ObjectSchema
from mock_salesforce.store import OrgStore

MAX_RECORDS = 200

VALIDATION_RULE = ApiError(
    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
    "Order number cannot be set on this Opportunity (validation rule)",
    (),
)


@dataclass
class SaveResult:
    id: str | None
    errors: list[ApiError] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.errors

    def rest(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "success": self.success,
            "errors": [e.rest("statusCode") for e in self.errors],
        }
        if self.id is not None:
            body = {"id": self.id, **body}
        return body


class Uniqueness:
    """Unique fields' values: in the store, and claimed by the records saved before in
    the same batch (Salesforce refuses the later one of two equal values)."""

    def __init__(self, store: OrgStore, schema: ObjectSchema) -> None:
        self.store = store
        self.fields = schema.unique_fields()
        self.claimed: dict[tuple[str, str], str] = {}

    def _key(self, name: str, value: str, case_sensitive: bool) -> tuple[str, str]:
        return (name, value if case_sensitive else value.lower())

    def check(self, oid: str | None, changes: Mapping[str, object]) -> ApiError | None:
        for spec in self.fields:
            value = changes.get(spec.name)
            if not isinstance(value, str):
                continue
            if self.claimed.get(self._key(spec.name, value, spec.case_sensitive), oid) != oid:
                # What Salesforce says of two equal values in one batch.
                return ApiError(
                    "DUPLICATE_VALUE",
                    "duplicate value found: <unknown> duplicates value on record with id: "
                    "<unknown>",
                )
            others = [other for other in self.store.find_ids(spec, value) if other != oid]
            if others:
                return ApiError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {spec.name} duplicates value on record with id: "
                    f"{others[0][:15]}",
                )
        return None

    def claim(self, oid: str, changes: Mapping[str, object]) -> None:
        for spec in self.fields:
            value = changes.get(spec.name)
            if isinstance(value, str):
                self.claimed[self._key(spec.name, value, spec.case_sensitive)] = oid


def save(
    store: OrgStore,
    schema: ObjectSchema,
    items: Sequence[tuple[object, Mapping[str, object]]],
    *,
    all_or_none: bool,
    source: str = "json",
    refused: Mapping[int, ApiError] | None = None,
    rng: random.Random | None = None,
    now: float | None = None,
) -> list[SaveResult]:
    """Update the records of ``items`` ([(id, changes)]); ``source`` says how the values
    came (``json``: a value of the wrong type raises JsonValueError for the request;
    ``text``: that record fails). ``refused``: items the API already failed (by index),
    which count as failures for ``all_or_none``."""
    rng = rng or random.Random()
    now = time.time() if now is None else now
    results: list[SaveResult] = []
    planned: list[tuple[int, str, dict[str, object]]] = []
    unique = Uniqueness(store, schema)
    with store.tx():
        faults = store.faults()  # inside the transaction: counted faults are used up here
        failing = set(faults.get("validation_fail_ids") or [])
        for index, (raw_id, changes) in enumerate(items):
            if refused and index in refused:
                results.append(SaveResult(None, [refused[index]]))
                continue
            bad_id = check_id(raw_id)
            if bad_id is not None:
                results.append(SaveResult(None, [bad_id]))
                continue
            oid = sfid.to18(str(raw_id))
            record = store.get(oid)
            if record is None:
                results.append(
                    SaveResult(
                        None,
                        [ApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ())],
                    )
                )
                continue
            if record["IsDeleted"]:
                results.append(
                    SaveResult(None, [ApiError("ENTITY_IS_DELETED", "entity is deleted", ())])
                )
                continue
            checked = validate_changes(changes, schema, source=source)
            if checked.errors:
                results.append(SaveResult(None, checked.errors))
                continue
            if oid in failing or oid[:15] in failing:
                store.bump("validation_error")
                results.append(SaveResult(None, [VALIDATION_RULE]))
                continue
            if _locked(store, oid, faults, rng):
                store.bump("lock_error")
                results.append(
                    SaveResult(
                        None,
                        [
                            ApiError(
                                "UNABLE_TO_LOCK_ROW",
                                "unable to obtain exclusive access to this record or 1 "
                                f"records: {oid}",
                                (),
                            )
                        ],
                    )
                )
                continue
            duplicate = unique.check(oid, checked.changes)
            if duplicate is not None:
                results.append(SaveResult(None, [duplicate]))
                continue
            unique.claim(oid, checked.changes)
            results.append(SaveResult(oid))
            planned.append((index, oid, checked.changes))
        failed = any(not r.success for r in results)
        if all_or_none and failed:
            for index, _, _ in planned:
                results[index].errors.append(
                    ApiError(
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                        "Record rolled back because not all records were valid and the request "
                        "was using AllOrNone header",
                        (),
                    )
                )
                results[index].id = None
            return results
        definitions = store.definitions(active_only=True)  # once for the whole call
        for _, oid, changes in planned:
            store.apply_in_tx(oid, changes, now, definitions)
    return results


def create(
    store: OrgStore,
    schema: ObjectSchema,
    values: Mapping[str, object],
    *,
    now: float | None = None,
) -> SaveResult:
    """Create one record (REST ``POST sobjects/Opportunity``, an upsert that matched
    nothing); the flows that run on create see it."""
    now = time.time() if now is None else now
    with store.tx():
        checked = validate_changes(values, schema, creating=True)
        if checked.errors:
            return SaveResult(None, checked.errors)
        duplicate = Uniqueness(store, schema).check(None, checked.changes)
        if duplicate is not None:
            return SaveResult(None, [duplicate])
        return SaveResult(store.insert(checked.changes, now))


def _locked(store: OrgStore, oid: str, faults: Mapping[str, Any], rng: random.Random) -> bool:
    """Whether a save of ``oid`` meets a row lock: one of its ``lock_ids`` saves, its
    first save under ``lock_first_attempt``, or the dice of ``lock_probability``. Every
    rule is consulted, so each one's own record (used-up count, first save) stays true."""
    locked = bool(faults.get("lock_ids")) and store.take_lock(oid)
    if faults.get("lock_first_attempt") and store.first_lock(oid):
        locked = True
    if rng.random() < float(faults.get("lock_probability") or 0.0):
        locked = True
    return locked
