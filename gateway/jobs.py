"""What the intake gateway hands to the workers: one job per accepted notification.

This is the contract between ``gateway.intake`` (producer) and ``gateway.pipeline``
(consumer), and what a user's own actor receives for a contract that has no built-in
handler. It carries only validated, JSON-native values; the SessionId, when Salesforce
sent one, travels encrypted (Fernet, ``SFGW_SECRET_KEY``) and is decrypted only in the
worker that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

#: JSON-native field values: what a Salesforce field becomes once bound and validated
#: (ID/string/date/dateTime/time/base64 -> str in their XML lexical form; double -> float;
#: int -> int; boolean -> bool; nil or absent -> key missing or None).
FieldValue = str | float | int | bool | None

JOB_VERSION = 1


@dataclass(frozen=True)
class NotificationJob:
    contract: str
    organization_id: str
    action_id: str
    notification_id: str
    object_type: str
    record_id: str | None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    enterprise_url: str = ""
    partner_url: str = ""
    session_id_encrypted: str | None = None
    received_at: str = ""
    version: int = JOB_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The job as the JSON-native dict a Dramatiq message carries (a flat copy: the
        fields dict is shared, not deep-copied as ``asdict`` would)."""
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotificationJob:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def dedupe_key(self) -> tuple[str, str]:
        """(15-char org id, 18-char notification id): Salesforce keeps the notification id
        across redeliveries, and ids are only unique within one org."""
        return (self.organization_id[:15], self.notification_id)


_FIELDS = tuple(spec.name for spec in fields(NotificationJob))
