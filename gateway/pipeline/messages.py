"""The callback stage's job: what to write onto which Opportunity.

Plain JSON-native values (the Dramatiq encoder is JSON). The SessionId of the original
message travels on only when legacy SessionId mode is on, still encrypted; everything
else is the outcome of the order stage. Issue 8's coalescing flusher consumes the same
payload, so the fields here are the whole contract between the two stages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

CALLBACK_JOB_VERSION = 1


@dataclass(frozen=True)
class CallbackJob:
    organization_id: str
    opportunity_id: str
    notification_id: str
    order_number: str
    order_status: str
    partner_url: str = ""
    session_id_encrypted: str | None = None
    version: int = CALLBACK_JOB_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallbackJob:
        known = set(cls.__dataclass_fields__)
        return cls(**{key: value for key, value in data.items() if key in known})
