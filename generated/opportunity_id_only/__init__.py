from generated.opportunity_id_only.opportunity_id_only import (
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
