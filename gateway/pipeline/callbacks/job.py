"""The callback stage's job: what to write onto which Opportunity.

Plain JSON-native values (the Dramatiq encoder is JSON). The SessionId of the original
message travels on only when legacy SessionId mode is on, still encrypted; everything
else is the outcome of the order stage. Both ways of calling back consume the same
payload, so the fields here are the whole contract between the two stages.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Protocol

from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.settings import SalesforceSettings

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
        # every field is a str, int or None: a flat copy is what asdict's deep one gives
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallbackJob:
        return cls(**{key: value for key, value in data.items() if key in _FIELDS})


_FIELDS = tuple(field.name for field in fields(CallbackJob))


class CallbackSender(Protocol):
    """How the order stage hands over a completed order (see the package doc)."""

    def submit(self, job: CallbackJob) -> None:
        """Durably queue the callback (raises when Redis did not take it)."""
        ...


def record_update(job: CallbackJob, settings: SalesforceSettings) -> RecordUpdate:
    """The fields one callback writes onto its Opportunity."""
    return RecordUpdate(
        record_id=job.opportunity_id,
        fields={
            settings.order_number_field: job.order_number,
            settings.order_status_field: job.order_status,
        },
    )
