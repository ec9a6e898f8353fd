"""The order service itself: SOAP request bytes in, SOAP reply out. No sockets here.

Routing is on the Body's first element (``CreateOrder`` / ``GetOrder``), not on the
SOAPAction header: the element is what the contract actually defines, and clients differ
in how they quote the header. Every error is a SOAP 1.1 Fault with HTTP 500; declared
faults carry their element from the contract in ``<detail>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from lxml import etree
from xsdata.models.datatype import XmlDate, XmlDateTime

from gateway import sfid
from gateway.bindings.binder import BindingError, ContractBinder
from gateway.namespaces import ERP_ORDERS
from gateway.soap import SoapParseError, envelope, fault_envelope, parse_envelope
from generated.erp_orders import (
    CreateOrder,
    CreateOrderResponse,
    GetOrder,
    GetOrderResponse,
    Order,
    OrderNotFoundFault,
    OrderStatus,
    UnavailableFault,
    ValidationFault,
)
from mock_erp.store import NewOrder, OrderStore, StoredOrder

PACKAGE = "generated.erp_orders"

MAX_TEXT = 255
MAX_AMOUNT = Decimal("1000000000000")


class ValidationProblem(ValueError):
    """A request that can never succeed as sent; becomes a ValidationFault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Reply:
    """An HTTP answer. ``committed`` is true when a CreateOrder reached the store;
    ``replayed`` when that CreateOrder found its reference's order already there."""

    status: int
    body: bytes
    operation: str | None = None
    committed: bool = False
    replayed: bool = False


def validate_create(request: CreateOrder) -> NewOrder:
    """The checks xsdata does not make (patterns, lengths) plus business rules."""
    try:
        if len(request.external_reference) != 18:
            raise sfid.InvalidSalesforceId("not 18 characters")
        reference = sfid.to18(request.external_reference)
    except sfid.InvalidSalesforceId:
        raise ValidationProblem(
            "INVALID_REFERENCE",
            "ExternalReference must be an 18-character Salesforce Id with a valid checksum",
            "ExternalReference",
        ) from None
    for name, value in (
        ("CustomerReference", request.customer_reference),
        ("Title", request.title),
    ):
        if value is not None and len(value) > MAX_TEXT:
            raise ValidationProblem(
                "TOO_LONG", f"{name} is longer than {MAX_TEXT} characters", name
            )
    amount = request.amount
    if amount is not None:
        if not amount.is_finite() or amount < 0 or amount >= MAX_AMOUNT:
            raise ValidationProblem(
                "INVALID_AMOUNT", "Amount must be a finite number from 0 to below 10^12", "Amount"
            )
        if amount.as_tuple().exponent < -2:  # type: ignore[operator]
            raise ValidationProblem(
                "INVALID_AMOUNT", "Amount may have at most 2 decimal places", "Amount"
            )
    currency = request.currency_code
    if currency is not None and not (
        len(currency) == 3 and currency.isascii() and currency.isupper()
    ):
        raise ValidationProblem(
            "INVALID_CURRENCY", "CurrencyCode must be three upper-case letters", "CurrencyCode"
        )
    if amount is not None and currency is None:
        raise ValidationProblem(
            "MISSING_CURRENCY", "CurrencyCode is required when Amount is given", "CurrencyCode"
        )
    close: date | None = None
    if request.close_date is not None:
        try:
            close = request.close_date.to_date()
        except ValueError:
            raise ValidationProblem(
                "INVALID_DATE", "CloseDate is not a date", "CloseDate"
            ) from None
    return NewOrder(
        external_reference=reference,
        customer_reference=request.customer_reference,
        title=request.title,
        amount=amount,
        currency_code=currency,
        close_date=close,
    )


class OrderService:
    """Dispatches one SOAP request against the store."""

    def __init__(self, store: OrderStore, binder: ContractBinder | None = None) -> None:
        self.store = store
        self.binder = binder or ContractBinder(PACKAGE)

    # -- replies -----------------------------------------------------------------------
    def _ok(
        self, obj: object, operation: str, committed: bool = False, replayed: bool = False
    ) -> Reply:
        return Reply(200, envelope(self.binder.render(obj)), operation, committed, replayed)

    def _declared_fault(
        self, faultcode: str, faultstring: str, detail: object, operation: str | None
    ) -> Reply:
        detail_xml = self.binder.render(detail).decode()
        return Reply(500, fault_envelope(faultcode, faultstring, detail_xml), operation)

    def validation_fault(self, problem: ValidationProblem, operation: str | None) -> Reply:
        detail = ValidationFault(
            code=problem.code, message=problem.message, field_value=problem.field
        )
        return self._declared_fault("soapenv:Client", problem.message, detail, operation)

    def unavailable_fault(
        self, message: str, retry_after_s: int | None, operation: str | None
    ) -> Reply:
        detail = UnavailableFault(message=message, retry_after_seconds=retry_after_s)
        return self._declared_fault("soapenv:Server", message, detail, operation)

    @staticmethod
    def http_503(operation: str | None) -> Reply:
        """What an overloaded front end says: 503 with a plain (undeclared) SOAP fault."""
        body = fault_envelope("soapenv:Server", "Service Unavailable: the ERP is overloaded")
        return Reply(503, body, operation)

    @staticmethod
    def client_fault(message: str, operation: str | None = None) -> Reply:
        return Reply(500, fault_envelope("soapenv:Client", message), operation)

    # -- dispatch ----------------------------------------------------------------------
    @staticmethod
    def operation_of(body: bytes) -> tuple[str | None, etree._Element | None, str | None]:
        """(operation name, payload element, parse error) without touching the store."""
        try:
            env = parse_envelope(body)
        except SoapParseError as error:
            return None, None, str(error)
        qname = etree.QName(env.payload)
        if qname.namespace == ERP_ORDERS and qname.localname in ("CreateOrder", "GetOrder"):
            return qname.localname, env.payload, None
        return (
            None,
            env.payload,
            (
                f"unknown operation {{{qname.namespace}}}{qname.localname}; "
                "this service offers CreateOrder and GetOrder"
            ),
        )

    def handle(
        self, operation: str, payload: etree._Element, rejected: frozenset[str] = frozenset(),
        reject_code: str = "REJECTED",
    ) -> Reply:  # fmt: skip
        try:
            if operation == "CreateOrder":
                request = self.binder.bind(payload, CreateOrder)
                if request.external_reference.upper() in rejected:
                    raise ValidationProblem(
                        reject_code, "the ERP refuses this order (injected)", "ExternalReference"
                    )
                return self.create_order(request)
            return self.get_order(self.binder.bind(payload, GetOrder))
        except BindingError as error:
            return self.validation_fault(
                ValidationProblem("SCHEMA", f"{operation} does not match the contract: {error}"),
                operation,
            )
        except ValidationProblem as problem:
            return self.validation_fault(problem, operation)

    def create_order(self, request: CreateOrder) -> Reply:
        order, created = self.store.create_order(validate_create(request))
        response = CreateOrderResponse(
            order_number=order.order_number,
            external_reference=order.external_reference,
            status=OrderStatus(order.status),
            created=created,
            created_at=XmlDateTime.from_datetime(order.created_at),
        )
        return self._ok(response, "CreateOrder", committed=True, replayed=not created)

    def get_order(self, request: GetOrder) -> Reply:
        order: StoredOrder | None
        if request.order_number is not None and request.external_reference is None:
            order = self.store.by_number(request.order_number)
            key = f"order number {request.order_number}"
        elif request.external_reference is not None and request.order_number is None:
            try:
                reference = sfid.to18(request.external_reference)
            except sfid.InvalidSalesforceId:
                reference = request.external_reference
            order = self.store.by_reference(reference)
            key = f"external reference {request.external_reference}"
        else:
            raise ValidationProblem(
                "SCHEMA", "GetOrder takes exactly one of OrderNumber or ExternalReference"
            )
        if order is None:
            return self._declared_fault(
                "soapenv:Client",
                f"no order for {key}",
                OrderNotFoundFault(message=f"no order for {key}"),
                "GetOrder",
            )
        return self._ok(GetOrderResponse(order=_wire_order(order)), "GetOrder")


def _wire_order(order: StoredOrder) -> Order:
    return Order(
        order_number=order.order_number,
        external_reference=order.external_reference,
        status=OrderStatus(order.status),
        customer_reference=order.customer_reference,
        title=order.title,
        amount=order.amount,
        currency_code=order.currency_code,
        close_date=None if order.close_date is None else XmlDate.from_date(order.close_date),
        created_at=XmlDateTime.from_datetime(order.created_at),
    )
