from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ExceptionCode(Enum):
    API_CURRENTLY_DISABLED = "API_CURRENTLY_DISABLED"
    API_DISABLED_FOR_ORG = "API_DISABLED_FOR_ORG"
    INSUFFICIENT_ACCESS = "INSUFFICIENT_ACCESS"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_ID_FIELD = "INVALID_ID_FIELD"
    INVALID_SESSION_ID = "INVALID_SESSION_ID"
    INVALID_TYPE = "INVALID_TYPE"
    MALFORMED_ID = "MALFORMED_ID"
    MALFORMED_QUERY = "MALFORMED_QUERY"
    REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
    REQUEST_RUNNING_TOO_LONG = "REQUEST_RUNNING_TOO_LONG"
    SERVER_UNAVAILABLE = "SERVER_UNAVAILABLE"
    UNKNOWN_EXCEPTION = "UNKNOWN_EXCEPTION"


@dataclass(kw_only=True)
class AllOrNoneHeader:
    class Meta:
        namespace = "urn:partner.soap.sforce.com"

    all_or_none: bool = field(
        metadata={
            "name": "allOrNone",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class ExtendedErrorDetails:
    class Meta:
        target_namespace = "urn:partner.soap.sforce.com"

    extended_error_code: str = field(
        metadata={
            "name": "extendedErrorCode",
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )
    target_namespace_element: list[object] = field(
        default_factory=list,
        metadata={
            "type": "Wildcard",
            "namespace": "urn:partner.soap.sforce.com",
        },
    )


@dataclass(kw_only=True)
class LimitInfo:
    class Meta:
        target_namespace = "urn:partner.soap.sforce.com"

    current: int = field(
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )
    limit: int = field(
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )
    type_value: str = field(
        metadata={
            "name": "type",
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )


@dataclass(kw_only=True)
class SessionHeader:
    class Meta:
        namespace = "urn:partner.soap.sforce.com"

    session_id: str = field(
        metadata={
            "name": "sessionId",
            "type": "Element",
        }
    )


class StatusCode(Enum):
    ALL_OR_NONE_OPERATION_ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY = (
        "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    )
    DUPLICATE_VALUE = "DUPLICATE_VALUE"
    ENTITY_IS_DELETED = "ENTITY_IS_DELETED"
    FIELD_CUSTOM_VALIDATION_EXCEPTION = "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    FIELD_INTEGRITY_EXCEPTION = "FIELD_INTEGRITY_EXCEPTION"
    INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY = (
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"
    )
    INSUFFICIENT_ACCESS_OR_READONLY = "INSUFFICIENT_ACCESS_OR_READONLY"
    INVALID_CROSS_REFERENCE_KEY = "INVALID_CROSS_REFERENCE_KEY"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_FIELD_FOR_INSERT_UPDATE = "INVALID_FIELD_FOR_INSERT_UPDATE"
    INVALID_ID_FIELD = "INVALID_ID_FIELD"
    INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST = (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    )
    INVALID_TYPE = "INVALID_TYPE"
    INVALID_TYPE_ON_FIELD_IN_RECORD = "INVALID_TYPE_ON_FIELD_IN_RECORD"
    MALFORMED_ID = "MALFORMED_ID"
    REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
    STRING_TOO_LONG = "STRING_TOO_LONG"
    UNABLE_TO_LOCK_ROW = "UNABLE_TO_LOCK_ROW"
    UNKNOWN_EXCEPTION = "UNKNOWN_EXCEPTION"


@dataclass(kw_only=True)
class Retrieve:
    class Meta:
        name = "retrieve"
        namespace = "urn:partner.soap.sforce.com"

    field_list: str = field(
        metadata={
            "name": "fieldList",
            "type": "Element",
        }
    )
    s_object_type: str = field(
        metadata={
            "name": "sObjectType",
            "type": "Element",
        }
    )
    ids: list[str] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        },
    )


@dataclass(kw_only=True)
class SObject:
    class Meta:
        name = "sObject"
        target_namespace = "urn:sobject.partner.soap.sforce.com"

    type_value: str = field(
        metadata={
            "name": "type",
            "type": "Element",
            "namespace": "urn:sobject.partner.soap.sforce.com",
        }
    )
    fields_to_null: list[str] = field(
        default_factory=list,
        metadata={
            "name": "fieldsToNull",
            "type": "Element",
            "namespace": "urn:sobject.partner.soap.sforce.com",
            "nillable": True,
        },
    )
    id: None | str = field(
        metadata={
            "name": "Id",
            "type": "Element",
            "namespace": "urn:sobject.partner.soap.sforce.com",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        }
    )
    target_namespace_element: list[object] = field(
        default_factory=list,
        metadata={
            "type": "Wildcard",
            "namespace": "urn:sobject.partner.soap.sforce.com",
        },
    )


@dataclass(kw_only=True)
class ApiFault:
    class Meta:
        target_namespace = "urn:fault.partner.soap.sforce.com"

    exception_code: ExceptionCode = field(
        metadata={
            "name": "exceptionCode",
            "type": "Element",
            "namespace": "urn:fault.partner.soap.sforce.com",
        }
    )
    exception_message: str = field(
        metadata={
            "name": "exceptionMessage",
            "type": "Element",
            "namespace": "urn:fault.partner.soap.sforce.com",
        }
    )
    extended_error_details: list[ExtendedErrorDetails] = field(
        default_factory=list,
        metadata={
            "name": "extendedErrorDetails",
            "type": "Element",
            "namespace": "urn:fault.partner.soap.sforce.com",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class Error:
    class Meta:
        target_namespace = "urn:partner.soap.sforce.com"

    extended_error_details: list[ExtendedErrorDetails] = field(
        default_factory=list,
        metadata={
            "name": "extendedErrorDetails",
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
            "nillable": True,
        },
    )
    fields: list[str] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
            "nillable": True,
        },
    )
    message: str = field(
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )
    status_code: StatusCode = field(
        metadata={
            "name": "statusCode",
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )


@dataclass(kw_only=True)
class LimitInfoHeader:
    class Meta:
        namespace = "urn:partner.soap.sforce.com"

    limit_info: list[LimitInfo] = field(
        default_factory=list,
        metadata={
            "name": "limitInfo",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class SoapRetrieveInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "urn:partner.soap.sforce.com"

    header: SoapRetrieveInput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SoapRetrieveInput.Body = field(
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
                "namespace": "urn:partner.soap.sforce.com",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        retrieve: Retrieve = field(
            metadata={
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            }
        )


@dataclass(kw_only=True)
class RetrieveResponse:
    class Meta:
        name = "retrieveResponse"
        namespace = "urn:partner.soap.sforce.com"

    result: list[SObject] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class Update:
    class Meta:
        name = "update"
        namespace = "urn:partner.soap.sforce.com"

    s_objects: list[SObject] = field(
        default_factory=list,
        metadata={
            "name": "sObjects",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class ApiQueryFault(ApiFault):
    class Meta:
        target_namespace = "urn:fault.partner.soap.sforce.com"

    row: int = field(
        metadata={
            "type": "Element",
            "namespace": "urn:fault.partner.soap.sforce.com",
        }
    )
    column: int = field(
        metadata={
            "type": "Element",
            "namespace": "urn:fault.partner.soap.sforce.com",
        }
    )


@dataclass(kw_only=True)
class InvalidIdFault(ApiFault):
    class Meta:
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class UnexpectedErrorFault(ApiFault):
    class Meta:
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class Fault(ApiFault):
    class Meta:
        name = "fault"
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class SaveResult:
    class Meta:
        target_namespace = "urn:partner.soap.sforce.com"

    errors: list[Error] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        },
    )
    id: None | str = field(
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        }
    )
    success: bool = field(
        metadata={
            "type": "Element",
            "namespace": "urn:partner.soap.sforce.com",
        }
    )


@dataclass(kw_only=True)
class SoapUpdateInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "urn:partner.soap.sforce.com"

    header: SoapUpdateInput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SoapUpdateInput.Body = field(
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
                "namespace": "urn:partner.soap.sforce.com",
            }
        )
        all_or_none_header: AllOrNoneHeader = field(
            metadata={
                "name": "AllOrNoneHeader",
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        update: Update = field(
            metadata={
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            }
        )


@dataclass(kw_only=True)
class InvalidFieldFault(ApiQueryFault):
    class Meta:
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class InvalidSobjectFault(ApiQueryFault):
    class Meta:
        name = "InvalidSObjectFault"
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class MalformedQueryFault(ApiQueryFault):
    class Meta:
        namespace = "urn:fault.partner.soap.sforce.com"


@dataclass(kw_only=True)
class UpdateResponse:
    class Meta:
        name = "updateResponse"
        namespace = "urn:partner.soap.sforce.com"

    result: list[SaveResult] = field(
        default_factory=list,
        metadata={
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class SoapRetrieveOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "urn:partner.soap.sforce.com"

    header: SoapRetrieveOutput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SoapRetrieveOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Header:
        limit_info_header: LimitInfoHeader = field(
            metadata={
                "name": "LimitInfoHeader",
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        retrieve_response: None | RetrieveResponse = field(
            default=None,
            metadata={
                "name": "retrieveResponse",
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            },
        )
        fault: None | SoapRetrieveOutput.Body.Fault = field(
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
            detail: None | SoapRetrieveOutput.Body.Fault.Detail = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )

            @dataclass(kw_only=True)
            class Detail:
                invalid_sobject_fault: None | InvalidSobjectFault = field(
                    default=None,
                    metadata={
                        "name": "InvalidSObjectFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                invalid_field_fault: None | InvalidFieldFault = field(
                    default=None,
                    metadata={
                        "name": "InvalidFieldFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                malformed_query_fault: None | MalformedQueryFault = field(
                    default=None,
                    metadata={
                        "name": "MalformedQueryFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                invalid_id_fault: None | InvalidIdFault = field(
                    default=None,
                    metadata={
                        "name": "InvalidIdFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                unexpected_error_fault: None | UnexpectedErrorFault = field(
                    default=None,
                    metadata={
                        "name": "UnexpectedErrorFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )


@dataclass(kw_only=True)
class SoapUpdateOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "urn:partner.soap.sforce.com"

    header: SoapUpdateOutput.Header = field(
        metadata={
            "name": "Header",
            "type": "Element",
        }
    )
    body: SoapUpdateOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Header:
        limit_info_header: LimitInfoHeader = field(
            metadata={
                "name": "LimitInfoHeader",
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            }
        )

    @dataclass(kw_only=True)
    class Body:
        update_response: None | UpdateResponse = field(
            default=None,
            metadata={
                "name": "updateResponse",
                "type": "Element",
                "namespace": "urn:partner.soap.sforce.com",
            },
        )
        fault: None | SoapUpdateOutput.Body.Fault = field(
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
            detail: None | SoapUpdateOutput.Body.Fault.Detail = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )

            @dataclass(kw_only=True)
            class Detail:
                invalid_sobject_fault: None | InvalidSobjectFault = field(
                    default=None,
                    metadata={
                        "name": "InvalidSObjectFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                unexpected_error_fault: None | UnexpectedErrorFault = field(
                    default=None,
                    metadata={
                        "name": "UnexpectedErrorFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )
                invalid_id_fault: None | InvalidIdFault = field(
                    default=None,
                    metadata={
                        "name": "InvalidIdFault",
                        "type": "Element",
                        "namespace": "urn:fault.partner.soap.sforce.com",
                    },
                )


class SoapRetrieve:
    style = "document"
    location = "https://login.salesforce.com/services/Soap/u/62.0"
    transport = "http://schemas.xmlsoap.org/soap/http"
    input = SoapRetrieveInput
    output = SoapRetrieveOutput


class SoapUpdate:
    style = "document"
    location = "https://login.salesforce.com/services/Soap/u/62.0"
    transport = "http://schemas.xmlsoap.org/soap/http"
    input = SoapUpdateInput
    output = SoapUpdateOutput
