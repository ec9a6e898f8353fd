from generated.opportunity_with_fields.opportunity_with_fields import (
    AggregateResult,
    NotificationPortNotifications,
    NotificationPortNotificationsInput,
    NotificationPortNotificationsOutput,
    Notifications,
    NotificationsResponse,
    Opportunity,
    OpportunityNotification,
    SObject,
)

__all__ = [
    "AggregateResult",
    "NotificationPortNotifications",
    "NotificationPortNotificationsInput",
    "NotificationPortNotificationsOutput",
    "Opportunity",
    "OpportunityNotification",
    "Notifications",
    "NotificationsResponse",
    "SObject",
]
