from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from xsdata.models.datatype import XmlDate, XmlDateTime

__NAMESPACE__ = "urn:example:erp:orders:v1"


@dataclass(kw_only=True)
class CreateOrder:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    external_reference: str = field(
        metadata={
            "name": "ExternalReference",
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    customer_reference: None | str = field(
        default=None,
        metadata={
            "name": "CustomerReference",
            "type": "Element",
        },
    )
    title: None | str = field(
        default=None,
        metadata={
            "name": "Title",
            "type": "Element",
        },
    )
    amount: None | Decimal = field(
        default=None,
        metadata={
            "name": "Amount",
            "type": "Element",
        },
    )
    currency_code: None | str = field(
        default=None,
        metadata={
            "name": "CurrencyCode",
            "type": "Element",
            "pattern": r"[A-Z]{3}",
        },
    )
    close_date: None | XmlDate = field(
        default=None,
        metadata={
            "name": "CloseDate",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class GetOrder:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    order_number: None | str = field(
        default=None,
        metadata={
            "name": "OrderNumber",
            "type": "Element",
            "pattern": r"SO-[0-9]{6,}",
        },
    )
    external_reference: None | str = field(
        default=None,
        metadata={
            "name": "ExternalReference",
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        },
    )


@dataclass(kw_only=True)
class OrderNotFoundFault:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    message: str = field(
        metadata={
            "name": "Message",
            "type": "Element",
        }
    )


class OrderStatus(Enum):
    CREATED = "Created"
    CONFIRMED = "Confirmed"
    ON_HOLD = "OnHold"
    CANCELLED = "Cancelled"


@dataclass(kw_only=True)
class UnavailableFault:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    message: str = field(
        metadata={
            "name": "Message",
            "type": "Element",
        }
    )
    retry_after_seconds: None | int = field(
        default=None,
        metadata={
            "name": "RetryAfterSeconds",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class ValidationFault:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    code: str = field(
        metadata={
            "name": "Code",
            "type": "Element",
        }
    )
    message: str = field(
        metadata={
            "name": "Message",
            "type": "Element",
        }
    )
    field_value: None | str = field(
        default=None,
        metadata={
            "name": "Field",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class CreateOrderResponse:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    order_number: str = field(
        metadata={
            "name": "OrderNumber",
            "type": "Element",
            "pattern": r"SO-[0-9]{6,}",
        }
    )
    external_reference: str = field(
        metadata={
            "name": "ExternalReference",
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    status: OrderStatus = field(
        metadata={
            "name": "Status",
            "type": "Element",
        }
    )
    created: bool = field(
        metadata={
            "name": "Created",
            "type": "Element",
        }
    )
    created_at: XmlDateTime = field(
        metadata={
            "name": "CreatedAt",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class Order:
    order_number: str = field(
        metadata={
            "name": "OrderNumber",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
            "pattern": r"SO-[0-9]{6,}",
        }
    )
    external_reference: str = field(
        metadata={
            "name": "ExternalReference",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    status: OrderStatus = field(
        metadata={
            "name": "Status",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        }
    )
    customer_reference: None | str = field(
        default=None,
        metadata={
            "name": "CustomerReference",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        },
    )
    title: None | str = field(
        default=None,
        metadata={
            "name": "Title",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        },
    )
    amount: None | Decimal = field(
        default=None,
        metadata={
            "name": "Amount",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        },
    )
    currency_code: None | str = field(
        default=None,
        metadata={
            "name": "CurrencyCode",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
            "pattern": r"[A-Z]{3}",
        },
    )
    close_date: None | XmlDate = field(
        default=None,
        metadata={
            "name": "CloseDate",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        },
    )
    created_at: XmlDateTime = field(
        metadata={
            "name": "CreatedAt",
            "type": "Element",
            "namespace": "urn:example:erp:orders:v1",
        }
    )


@dataclass(kw_only=True)
class OrderPortCreateOrderInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    body: OrderPortCreateOrderInput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        create_order: CreateOrder = field(
            metadata={
                "name": "CreateOrder",
                "type": "Element",
                "namespace": "urn:example:erp:orders:v1",
            }
        )


@dataclass(kw_only=True)
class OrderPortGetOrderInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    body: OrderPortGetOrderInput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        get_order: GetOrder = field(
            metadata={
                "name": "GetOrder",
                "type": "Element",
                "namespace": "urn:example:erp:orders:v1",
            }
        )


@dataclass(kw_only=True)
class GetOrderResponse:
    class Meta:
        namespace = "urn:example:erp:orders:v1"

    order: Order = field(
        metadata={
            "name": "Order",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class OrderPortCreateOrderOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    body: OrderPortCreateOrderOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        create_order_response: None | CreateOrderResponse = field(
            default=None,
            metadata={
                "name": "CreateOrderResponse",
                "type": "Element",
                "namespace": "urn:example:erp:orders:v1",
            },
        )
        fault: None | OrderPortCreateOrderOutput.Body.Fault = field(
            default=None,
            metadata={
                "name": "Fault",
                "type": "Element",
            },
        )

        @dataclass(kw_only=True)
        class Fault:
            faultcode: str = field(
                metadata={
                    "type": "Element",
                    "namespace": "",
                }
            )
            faultstring: str = field(
                metadata={
                    "type": "Element",
                    "namespace": "",
                }
            )
            faultactor: None | str = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )
            detail: None | OrderPortCreateOrderOutput.Body.Fault.Detail = (
                field(
                    default=None,
                    metadata={
                        "type": "Element",
                        "namespace": "",
                    },
                )
            )

            @dataclass(kw_only=True)
            class Detail:
                validation_fault: None | ValidationFault = field(
                    default=None,
                    metadata={
                        "name": "ValidationFault",
                        "type": "Element",
                        "namespace": "urn:example:erp:orders:v1",
                    },
                )
                unavailable_fault: None | UnavailableFault = field(
                    default=None,
                    metadata={
                        "name": "UnavailableFault",
                        "type": "Element",
                        "namespace": "urn:example:erp:orders:v1",
                    },
                )


class OrderPortCreateOrder:
    style = "document"
    location = "http://127.0.0.1:8300/erp/orders"
    transport = "http://schemas.xmlsoap.org/soap/http"
    soap_action = "urn:example:erp:orders:v1#CreateOrder"
    input = OrderPortCreateOrderInput
    output = OrderPortCreateOrderOutput


@dataclass(kw_only=True)
class OrderPortGetOrderOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    body: OrderPortGetOrderOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        get_order_response: None | GetOrderResponse = field(
            default=None,
            metadata={
                "name": "GetOrderResponse",
                "type": "Element",
                "namespace": "urn:example:erp:orders:v1",
            },
        )
        fault: None | OrderPortGetOrderOutput.Body.Fault = field(
            default=None,
            metadata={
                "name": "Fault",
                "type": "Element",
            },
        )

        @dataclass(kw_only=True)
        class Fault:
            faultcode: str = field(
                metadata={
                    "type": "Element",
                    "namespace": "",
                }
            )
            faultstring: str = field(
                metadata={
                    "type": "Element",
                    "namespace": "",
                }
            )
            faultactor: None | str = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )
            detail: None | OrderPortGetOrderOutput.Body.Fault.Detail = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )

            @dataclass(kw_only=True)
            class Detail:
                order_not_found_fault: None | OrderNotFoundFault = field(
                    default=None,
                    metadata={
                        "name": "OrderNotFoundFault",
                        "type": "Element",
                        "namespace": "urn:example:erp:orders:v1",
                    },
                )
                unavailable_fault: None | UnavailableFault = field(
                    default=None,
                    metadata={
                        "name": "UnavailableFault",
                        "type": "Element",
                        "namespace": "urn:example:erp:orders:v1",
                    },
                )


class OrderPortGetOrder:
    style = "document"
    location = "http://127.0.0.1:8300/erp/orders"
    transport = "http://schemas.xmlsoap.org/soap/http"
    soap_action = "urn:example:erp:orders:v1#GetOrder"
    input = OrderPortGetOrderInput
    output = OrderPortGetOrderOutput
