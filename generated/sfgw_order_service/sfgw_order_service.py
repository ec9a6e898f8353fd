from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__NAMESPACE__ = "http://soap.sforce.com/schemas/class/SfgwOrderService"


@dataclass(kw_only=True)
class AllowFieldTruncationHeader:
    class Meta:
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    allow_field_truncation: bool = field(
        metadata={
            "name": "allowFieldTruncation",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class CallOptions:
    class Meta:
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    client: str = field(
        metadata={
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class DebuggingInfo:
    class Meta:
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    debug_log: str = field(
        metadata={
            "name": "debugLog",
            "type": "Element",
        }
    )


class LogCategory(Enum):
    DB = "Db"
    WORKFLOW = "Workflow"
    VALIDATION = "Validation"
    CALLOUT = "Callout"
    APEX_CODE = "Apex_code"
    APEX_PROFILING = "Apex_profiling"
    VISUALFORCE = "Visualforce"
    SYSTEM = "System"
    WAVE = "Wave"
    NBA = "Nba"
    DATA_ACCESS = "Data_access"
    ALL = "All"


class LogCategoryLevel(Enum):
    NONE = "None"
    FINEST = "Finest"
    FINER = "Finer"
    FINE = "Fine"
    DEBUG = "Debug"
    INFO = "Info"
    WARN = "Warn"
    ERROR = "Error"


class LogType(Enum):
    NONE = "None"
    DEBUGONLY = "Debugonly"
    DB = "Db"
    PROFILING = "Profiling"
    CALLOUT = "Callout"
    DETAIL = "Detail"


@dataclass(kw_only=True)
class OrderUpdate:
    opportunity_id: None | str = field(
        default=None,
        metadata={
            "name": "opportunityId",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        },
    )
    order_number: None | str = field(
        default=None,
        metadata={
            "name": "orderNumber",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "nillable": True,
        },
    )
    order_status: None | str = field(
        default=None,
        metadata={
            "name": "orderStatus",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class OrderUpdateResult:
    message: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "nillable": True,
        },
    )
    opportunity_id: None | str = field(
        default=None,
        metadata={
            "name": "opportunityId",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        },
    )
    status_code: None | str = field(
        default=None,
        metadata={
            "name": "statusCode",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "nillable": True,
        },
    )
    success: None | bool = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class SessionHeader:
    class Meta:
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    session_id: str = field(
        metadata={
            "name": "sessionId",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class Location:
    class Meta:
        name = "location"

    latitude: float = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    longitude: float = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )


@dataclass(kw_only=True)
class LogInfo:
    category: LogCategory = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    level: LogCategoryLevel = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )


@dataclass(kw_only=True)
class Address(Location):
    class Meta:
        name = "address"

    city: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    country: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    country_code: str = field(
        metadata={
            "name": "countryCode",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    geocode_accuracy: str = field(
        metadata={
            "name": "geocodeAccuracy",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    postal_code: str = field(
        metadata={
            "name": "postalCode",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    state: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    state_code: str = field(
        metadata={
            "name": "stateCode",
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )
    street: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
        }
    )


@dataclass(kw_only=True)
class UpdateOrders:
    class Meta:
        name = "updateOrders"
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    updates: list[OrderUpdate] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class UpdateOrdersResponse:
    class Meta:
        name = "updateOrdersResponse"
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    result: list[OrderUpdateResult] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class DebuggingHeader:
    class Meta:
        namespace = "http://soap.sforce.com/schemas/class/SfgwOrderService"

    categories: list[LogInfo] = field(
        default_factory=list,
        metadata={
            "type": "Element",
        },
    )
    debug_level: LogType = field(
        metadata={
            "name": "debugLevel",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class SfgwOrderServicePortTypeUpdateOrdersOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    header: SfgwOrderServicePortTypeUpdateOrdersOutput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SfgwOrderServicePortTypeUpdateOrdersOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Header:
        debugging_info: DebuggingInfo = field(
            metadata={
                "name": "DebuggingInfo",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        update_orders_response: None | UpdateOrdersResponse = field(
            default=None,
            metadata={
                "name": "updateOrdersResponse",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            },
        )
        fault: None | SfgwOrderServicePortTypeUpdateOrdersOutput.Body.Fault = (
            field(
                default=None,
                metadata={
                    "name": "Fault",
                    "type": "Element",
                },
            )
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
            detail: None | str = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )


@dataclass(kw_only=True)
class SfgwOrderServicePortTypeUpdateOrdersInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"

    header: SfgwOrderServicePortTypeUpdateOrdersInput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SfgwOrderServicePortTypeUpdateOrdersInput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Header:
        session_header: SessionHeader = field(
            metadata={
                "name": "SessionHeader",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )
        call_options: CallOptions = field(
            metadata={
                "name": "CallOptions",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )
        debugging_header: DebuggingHeader = field(
            metadata={
                "name": "DebuggingHeader",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )
        allow_field_truncation_header: AllowFieldTruncationHeader = field(
            metadata={
                "name": "AllowFieldTruncationHeader",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        update_orders: UpdateOrders = field(
            metadata={
                "name": "updateOrders",
                "type": "Element",
                "namespace": "http://soap.sforce.com/schemas/class/SfgwOrderService",
            }
        )


class SfgwOrderServicePortTypeUpdateOrders:
    style = "document"
    location = "https://yourdomain.my.salesforce.com/services/Soap/class/SfgwOrderService"
    transport = "http://schemas.xmlsoap.org/soap/http"
    input = SfgwOrderServicePortTypeUpdateOrdersInput
    output = SfgwOrderServicePortTypeUpdateOrdersOutput
