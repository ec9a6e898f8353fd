from __future__ import annotations

from dataclasses import dataclass, field

from xsdata.models.datatype import XmlDate, XmlDateTime


@dataclass(kw_only=True)
class NotificationsResponse:
    class Meta:
        name = "notificationsResponse"
        namespace = "http://soap.sforce.com/2005/09/outbound"

    ack: bool = field(
        metadata={
            "name": "Ack",
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class SObject:
    class Meta:
        name = "sObject"
        target_namespace = "urn:sobject.enterprise.soap.sforce.com"

    fields_to_null: list[str] = field(
        default_factory=list,
        metadata={
            "name": "fieldsToNull",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    id: None | str = field(
        default=None,
        metadata={
            "name": "Id",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class NotificationPortNotificationsOutput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "http://soap.sforce.com/2005/09/outbound"

    body: NotificationPortNotificationsOutput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        notifications_response: None | NotificationsResponse = field(
            default=None,
            metadata={
                "name": "notificationsResponse",
                "type": "Element",
                "namespace": "http://soap.sforce.com/2005/09/outbound",
            },
        )
        fault: None | NotificationPortNotificationsOutput.Body.Fault = field(
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
            detail: None | str = field(
                default=None,
                metadata={
                    "type": "Element",
                    "namespace": "",
                },
            )


@dataclass(kw_only=True)
class AggregateResult(SObject):
    class Meta:
        target_namespace = "urn:sobject.enterprise.soap.sforce.com"

    target_namespace_element: list[object] = field(
        default_factory=list,
        metadata={
            "type": "Wildcard",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
        },
    )


@dataclass(kw_only=True)
class Opportunity(SObject):
    class Meta:
        target_namespace = "urn:sobject.enterprise.soap.sforce.com"

    account_id: None | str = field(
        default=None,
        metadata={
            "name": "AccountId",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
            "nillable": True,
        },
    )
    amount: None | float = field(
        default=None,
        metadata={
            "name": "Amount",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    close_date: None | XmlDate = field(
        default=None,
        metadata={
            "name": "CloseDate",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    is_won: None | bool = field(
        default=None,
        metadata={
            "name": "IsWon",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    last_modified_date: None | XmlDateTime = field(
        default=None,
        metadata={
            "name": "LastModifiedDate",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    name: None | str = field(
        default=None,
        metadata={
            "name": "Name",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    order_number_c: None | str = field(
        default=None,
        metadata={
            "name": "Order_Number__c",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )
    stage_name: None | str = field(
        default=None,
        metadata={
            "name": "StageName",
            "type": "Element",
            "namespace": "urn:sobject.enterprise.soap.sforce.com",
            "nillable": True,
        },
    )


@dataclass(kw_only=True)
class OpportunityNotification:
    class Meta:
        target_namespace = "http://soap.sforce.com/2005/09/outbound"

    id: str = field(
        metadata={
            "name": "Id",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2005/09/outbound",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    s_object: Opportunity = field(
        metadata={
            "name": "sObject",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2005/09/outbound",
        }
    )


@dataclass(kw_only=True)
class Notifications:
    class Meta:
        name = "notifications"
        namespace = "http://soap.sforce.com/2005/09/outbound"

    organization_id: str = field(
        metadata={
            "name": "OrganizationId",
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    action_id: str = field(
        metadata={
            "name": "ActionId",
            "type": "Element",
            "length": 18,
            "pattern": r"[a-zA-Z0-9]{18}",
        }
    )
    session_id: None | str = field(
        metadata={
            "name": "SessionId",
            "type": "Element",
            "nillable": True,
        }
    )
    enterprise_url: str = field(
        metadata={
            "name": "EnterpriseUrl",
            "type": "Element",
        }
    )
    partner_url: str = field(
        metadata={
            "name": "PartnerUrl",
            "type": "Element",
        }
    )
    notification: list[OpportunityNotification] = field(
        default_factory=list,
        metadata={
            "name": "Notification",
            "type": "Element",
            "min_occurs": 1,
            "max_occurs": 100,
        },
    )


@dataclass(kw_only=True)
class NotificationPortNotificationsInput:
    class Meta:
        name = "Envelope"
        namespace = "http://schemas.xmlsoap.org/soap/envelope/"
        target_namespace = "http://soap.sforce.com/2005/09/outbound"

    body: NotificationPortNotificationsInput.Body = field(
        metadata={
            "name": "Body",
            "type": "Element",
        }
    )

    @dataclass(kw_only=True)
    class Body:
        notifications: Notifications = field(
            metadata={
                "type": "Element",
                "namespace": "http://soap.sforce.com/2005/09/outbound",
            }
        )


class NotificationPortNotifications:
    style = "document"
    location = "https://orders-gateway.example.com/salesforce/outbound/opportunity_with_fields"
    transport = "http://schemas.xmlsoap.org/soap/http"
    input = NotificationPortNotificationsInput
    output = NotificationPortNotificationsOutput
