"""The order the gateway asks the ERP for, and what the ERP answers: one pair of types.

The order stage decides an :class:`OrderRequest` from an Opportunity's fields (pure, in
``gateway.pipeline.policy``); the ERP client sends it and answers with a
:class:`PlacedOrder`. Nothing in between translates one dataclass into another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class OrderRequest:
    """Create the order for ``external_reference`` (the 18-character Opportunity id), or
    return the one that exists: the ERP is idempotent on it."""

    external_reference: str
    customer_reference: str | None = None
    title: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    close_date: date | None = None


@dataclass(frozen=True)
class PlacedOrder:
    order_number: str
    status: str
    #: False when the ERP already had an order for the reference (a redelivery, a replay)
    created: bool
    external_reference: str
