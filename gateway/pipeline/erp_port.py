"""The pipeline's view of the ERP: one idempotent call, behind a small Protocol.

The actors depend on :class:`OrderService` only, so tests can hand them any object with
``create_order``; the real one wraps ``gateway.erp.ErpClient`` (the zeep client of the
ERP order service). ``gateway.erp`` is imported when the first worker builds its
pipeline, not at import time, so ``sfgw dlq``/``sfgw status`` never load zeep.

ERP errors pass through unchanged: they carry ``retryable`` and ``reason``, which
:func:`gateway.pipeline.policy.classify` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gateway.pipeline.policy import OrderDraft

if TYPE_CHECKING:
    from gateway.erp import ErpClient


@dataclass(frozen=True)
class PlacedOrder:
    order_number: str
    status: str
    created: bool


class OrderService(Protocol):
    def create_order(self, draft: OrderDraft) -> PlacedOrder:
        """Create the order for ``draft.external_reference`` or return the existing one."""
        ...


class ErpOrderService:
    """:class:`OrderService` over ``gateway.erp.ErpClient`` (settings from SFGW_ERP_*)."""

    def __init__(self) -> None:
        from gateway.erp import ErpClient, ErpSettings  # zeep loads here, in workers only

        self._client: ErpClient = ErpClient(ErpSettings.from_env())

    def create_order(self, draft: OrderDraft) -> PlacedOrder:
        from gateway.erp import OrderRequest

        request = OrderRequest(
            external_reference=draft.external_reference,
            customer_reference=draft.customer_reference,
            title=draft.title,
            amount=draft.amount,
            currency_code=draft.currency_code,
            close_date=draft.close_date,
        )
        result = self._client.create_order(request)
        return PlacedOrder(
            order_number=str(result.order_number),
            status=str(result.status),
            created=bool(result.created),
        )
