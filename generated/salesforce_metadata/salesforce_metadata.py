from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__NAMESPACE__ = "http://soap.sforce.com/2006/04/metadata"


@dataclass(kw_only=True)
class ApexClassAccess:
    apex_class: str = field(
        metadata={
            "name": "apexClass",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    enabled: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )


class ApexCodeUnitStatus(Enum):
    INACTIVE = "Inactive"
    ACTIVE = "Active"
    DELETED = "Deleted"


class ExtlClntAppDistState(Enum):
    AUTO_INSTALLED = "AutoInstalled"
    LOCAL = "Local"
    MANAGED = "Managed"
    PACKAGED = "Packaged"


class FieldType(Enum):
    AUTO_NUMBER = "AutoNumber"
    LOOKUP = "Lookup"
    MASTER_DETAIL = "MasterDetail"
    METADATA_RELATIONSHIP = "MetadataRelationship"
    CHECKBOX = "Checkbox"
    CURRENCY = "Currency"
    DATE = "Date"
    DATE_TIME = "DateTime"
    EMAIL = "Email"
    ENCRYPTED_TEXT = "EncryptedText"
    EXTERNAL_LOOKUP = "ExternalLookup"
    INDIRECT_LOOKUP = "IndirectLookup"
    NUMBER = "Number"
    PERCENT = "Percent"
    PHONE = "Phone"
    PICKLIST = "Picklist"
    MULTISELECT_PICKLIST = "MultiselectPicklist"
    SUMMARY = "Summary"
    TEXT = "Text"
    TEXT_AREA = "TextArea"
    LONG_TEXT_AREA = "LongTextArea"
    URL = "Url"
    HIERARCHY = "Hierarchy"
    FILE = "File"
    HTML = "Html"
    LOCATION = "Location"
    TIME = "Time"


@dataclass(kw_only=True)
class FlowElementReferenceOrValue:
    boolean_value: None | bool = field(
        default=None,
        metadata={
            "name": "booleanValue",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    element_reference: None | str = field(
        default=None,
        metadata={
            "name": "elementReference",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    number_value: None | float = field(
        default=None,
        metadata={
            "name": "numberValue",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    string_value: None | str = field(
        default=None,
        metadata={
            "name": "stringValue",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


class FlowEnvironment(Enum):
    DEFAULT = "Default"
    OFFLINE = "Offline"
    SLACK = "Slack"


class FlowProcessType(Enum):
    ACTIONABLE_EVENT_MANAGEMENT_FLOW = "ActionableEventManagementFlow"
    ACTION_CADENCE_AUTOLAUNCHED_FLOW = "ActionCadenceAutolaunchedFlow"
    ACTION_CADENCE_STEP_FLOW = "ActionCadenceStepFlow"
    ACTIVITY_OBJECT_MATCHING_FLOW = "ActivityObjectMatchingFlow"
    APPOINTMENTS = "Appointments"
    APPROVAL_WORKFLOW = "ApprovalWorkflow"
    AUTO_LAUNCHED_FLOW = "AutoLaunchedFlow"
    CHECKOUT_FLOW = "CheckoutFlow"
    CONTACT_REQUEST_FLOW = "ContactRequestFlow"
    CUSTOMER_LIFECYCLE = "CustomerLifecycle"
    CUSTOM_EVENT = "CustomEvent"
    DATA_CAPTURE_FLOW = "DataCaptureFlow"
    DCVR_FRAMEWORK_DATA_CAPTURE_FLOW = "DcvrFrameworkDataCaptureFlow"
    EVALUATION_FLOW = "EvaluationFlow"
    FIELD_SERVICE_MOBILE = "FieldServiceMobile"
    FIELD_SERVICE_WEB = "FieldServiceWeb"
    FLOW = "Flow"
    FSCLENDING = "FSCLending"
    IDENTITY_USER_REGISTRATION_FLOW = "IdentityUserRegistrationFlow"
    INDICATOR_RESULT_FLOW = "IndicatorResultFlow"
    INDIVIDUAL_OBJECT_LINKING_FLOW = "IndividualObjectLinkingFlow"
    INVOCABLE_PROCESS = "InvocableProcess"
    JOURNEY = "Journey"
    LOGIN_FLOW = "LoginFlow"
    LOYALTY_MANAGEMENT_FLOW = "LoyaltyManagementFlow"
    ORCHESTRATOR = "Orchestrator"
    PROMPT_FLOW = "PromptFlow"
    RECOMMENDATION_STRATEGY = "RecommendationStrategy"
    ROUTING_FLOW = "RoutingFlow"
    SURVEY = "Survey"
    SURVEY_ENRICH = "SurveyEnrich"
    WORKFLOW = "Workflow"


class FlowTransactionModel(Enum):
    AUTOMATIC = "Automatic"
    CURRENT_TRANSACTION = "CurrentTransaction"
    NEW_TRANSACTION = "NewTransaction"


class FlowTriggerType(Enum):
    AUTOMATION_EVENT = "AutomationEvent"
    CAPABILITY = "Capability"
    DATA_CLOUD_DATA_CHANGE = "DataCloudDataChange"
    DATA_GRAPH_DATA_CHANGE = "DataGraphDataChange"
    EVENT_DRIVEN_JOURNEY = "EventDrivenJourney"
    EXTERNAL_SYSTEM_CHANGE = "ExternalSystemChange"
    PLATFORM_EVENT = "PlatformEvent"
    RECORD_AFTER_SAVE = "RecordAfterSave"
    RECORD_BEFORE_DELETE = "RecordBeforeDelete"
    RECORD_BEFORE_SAVE = "RecordBeforeSave"
    SCHEDULED = "Scheduled"
    SCHEDULED_JOURNEY = "ScheduledJourney"
    SEGMENT = "Segment"


class FlowVersionStatus(Enum):
    ACTIVE = "Active"
    DRAFT = "Draft"
    OBSOLETE = "Obsolete"
    INVALID_DRAFT = "InvalidDraft"


class InvocableActionType(Enum):
    APEX = "apex"
    CHATTER_POST = "chatterPost"
    COMPONENT = "component"
    CUSTOM_NOTIFICATION_ACTION = "customNotificationAction"
    EMAIL_ALERT = "emailAlert"
    EMAIL_SIMPLE = "emailSimple"
    EXTERNAL_SERVICE = "externalService"
    FLOW = "flow"
    OUTBOUND_MESSAGE = "outboundMessage"
    QUICK_ACTION = "quickAction"
    SUBMIT = "submit"


class IpRelaxationPolicyType(Enum):
    ENFORCE = "Enforce"
    BYPASS = "Bypass"
    BYPASS_2FACTOR = "Bypass_2factor"
    ENFORCE_RELAX_REFRESH = "Enforce_RelaxRefresh"


@dataclass(kw_only=True)
class Metadata:
    full_name: None | str = field(
        default=None,
        metadata={
            "name": "fullName",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class PermissionSetFieldPermissions:
    editable: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    field_value: str = field(
        metadata={
            "name": "field",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    readable: None | bool = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class PermissionSetObjectPermissions:
    allow_create: bool = field(
        metadata={
            "name": "allowCreate",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    allow_delete: bool = field(
        metadata={
            "name": "allowDelete",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    allow_edit: bool = field(
        metadata={
            "name": "allowEdit",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    allow_read: bool = field(
        metadata={
            "name": "allowRead",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    modify_all_records: bool = field(
        metadata={
            "name": "modifyAllRecords",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    object_value: str = field(
        metadata={
            "name": "object",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    view_all_fields: None | bool = field(
        default=None,
        metadata={
            "name": "viewAllFields",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    view_all_records: bool = field(
        metadata={
            "name": "viewAllRecords",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )


@dataclass(kw_only=True)
class PermissionSetUserPermission:
    enabled: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    name: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )


class PermittedUsersPolicyType(Enum):
    ADMIN_APPROVED_PRE_AUTHORIZED = "AdminApprovedPreAuthorized"
    ALL_SELF_AUTHORIZED = "AllSelfAuthorized"


class RecordTriggerType(Enum):
    CREATE = "Create"
    UPDATE = "Update"
    CREATE_AND_UPDATE = "CreateAndUpdate"
    DELETE = "Delete"
    NONE = "None"


@dataclass(kw_only=True)
class CustomValue(Metadata):
    color: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    default: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    is_active: None | bool = field(
        default=None,
        metadata={
            "name": "isActive",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class ExternalClientApplication(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    contact_email: None | str = field(
        default=None,
        metadata={
            "name": "contactEmail",
            "type": "Element",
        },
    )
    contact_phone: None | str = field(
        default=None,
        metadata={
            "name": "contactPhone",
            "type": "Element",
        },
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    distribution_state: None | ExtlClntAppDistState = field(
        default=None,
        metadata={
            "name": "distributionState",
            "type": "Element",
        },
    )
    icon_url: None | str = field(
        default=None,
        metadata={
            "name": "iconUrl",
            "type": "Element",
        },
    )
    info_url: None | str = field(
        default=None,
        metadata={
            "name": "infoUrl",
            "type": "Element",
        },
    )
    is_protected: None | bool = field(
        default=None,
        metadata={
            "name": "isProtected",
            "type": "Element",
        },
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    logo_url: None | str = field(
        default=None,
        metadata={
            "name": "logoUrl",
            "type": "Element",
        },
    )
    org_scoped_external_app: None | str = field(
        default=None,
        metadata={
            "name": "orgScopedExternalApp",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class ExtlClntAppConfigurablePolicies(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    external_client_application: str = field(
        metadata={
            "name": "externalClientApplication",
            "type": "Element",
        }
    )
    is_enabled: bool = field(
        metadata={
            "name": "isEnabled",
            "type": "Element",
        }
    )
    is_oauth_plugin_enabled: None | bool = field(
        default=None,
        metadata={
            "name": "isOauthPluginEnabled",
            "type": "Element",
        },
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class ExtlClntAppOauthConfigurablePolicies(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    client_credentials_flow_user: None | str = field(
        default=None,
        metadata={
            "name": "clientCredentialsFlowUser",
            "type": "Element",
        },
    )
    comma_separated_permission_set: None | str = field(
        default=None,
        metadata={
            "name": "commaSeparatedPermissionSet",
            "type": "Element",
        },
    )
    comma_separated_profile: None | str = field(
        default=None,
        metadata={
            "name": "commaSeparatedProfile",
            "type": "Element",
        },
    )
    external_client_application: str = field(
        metadata={
            "name": "externalClientApplication",
            "type": "Element",
        }
    )
    ip_relaxation_policy_type: None | IpRelaxationPolicyType = field(
        default=None,
        metadata={
            "name": "ipRelaxationPolicyType",
            "type": "Element",
        },
    )
    is_client_credentials_flow_enabled: None | bool = field(
        default=None,
        metadata={
            "name": "isClientCredentialsFlowEnabled",
            "type": "Element",
        },
    )
    is_token_exchange_flow_enabled: None | bool = field(
        default=None,
        metadata={
            "name": "isTokenExchangeFlowEnabled",
            "type": "Element",
        },
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    permitted_users_policy_type: None | PermittedUsersPolicyType = field(
        default=None,
        metadata={
            "name": "permittedUsersPolicyType",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class ExtlClntAppOauthSettings(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    comma_separated_oauth_scopes: None | str = field(
        default=None,
        metadata={
            "name": "commaSeparatedOauthScopes",
            "type": "Element",
        },
    )
    external_client_application: str = field(
        metadata={
            "name": "externalClientApplication",
            "type": "Element",
        }
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class FlowMetadataValue:
    name: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    value: None | FlowElementReferenceOrValue = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class MetadataWithContent(Metadata):
    content: None | bytes = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
            "format": "base64",
        },
    )


@dataclass(kw_only=True)
class PermissionSet(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    class_accesses: list[ApexClassAccess] = field(
        default_factory=list,
        metadata={
            "name": "classAccesses",
            "type": "Element",
        },
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    field_permissions: list[PermissionSetFieldPermissions] = field(
        default_factory=list,
        metadata={
            "name": "fieldPermissions",
            "type": "Element",
        },
    )
    has_activation_required: None | bool = field(
        default=None,
        metadata={
            "name": "hasActivationRequired",
            "type": "Element",
        },
    )
    label: str = field(
        metadata={
            "type": "Element",
        }
    )
    license: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    object_permissions: list[PermissionSetObjectPermissions] = field(
        default_factory=list,
        metadata={
            "name": "objectPermissions",
            "type": "Element",
        },
    )
    user_permissions: list[PermissionSetUserPermission] = field(
        default_factory=list,
        metadata={
            "name": "userPermissions",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class WorkflowAction(Metadata):
    pass


@dataclass(kw_only=True)
class ApexClass(MetadataWithContent):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    api_version: float = field(
        metadata={
            "name": "apiVersion",
            "type": "Element",
        }
    )
    status: ApexCodeUnitStatus = field(
        metadata={
            "type": "Element",
        }
    )


@dataclass(kw_only=True)
class FlowBaseElement:
    process_metadata_values: list[FlowMetadataValue] = field(
        default_factory=list,
        metadata={
            "name": "processMetadataValues",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class ValueSetValuesDefinition:
    sorted: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    value: list[CustomValue] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class WorkflowOutboundMessage(WorkflowAction):
    api_version: float = field(
        metadata={
            "name": "apiVersion",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    endpoint_url: str = field(
        metadata={
            "name": "endpointUrl",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    fields: list[str] = field(
        default_factory=list,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    include_session_id: bool = field(
        metadata={
            "name": "includeSessionId",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    integration_user: str = field(
        metadata={
            "name": "integrationUser",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    name: str = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    protected: bool = field(
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    use_dead_letter_queue: None | bool = field(
        default=None,
        metadata={
            "name": "useDeadLetterQueue",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class FlowConnector(FlowBaseElement):
    is_go_to: None | bool = field(
        default=None,
        metadata={
            "name": "isGoTo",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    target_reference: str = field(
        metadata={
            "name": "targetReference",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )


@dataclass(kw_only=True)
class FlowElement(FlowBaseElement):
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    name: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class ValueSet:
    controlling_field: None | str = field(
        default=None,
        metadata={
            "name": "controllingField",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    restricted: None | bool = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    value_set_definition: None | ValueSetValuesDefinition = field(
        default=None,
        metadata={
            "name": "valueSetDefinition",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    value_set_name: None | str = field(
        default=None,
        metadata={
            "name": "valueSetName",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class Workflow(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    outbound_messages: list[WorkflowOutboundMessage] = field(
        default_factory=list,
        metadata={
            "name": "outboundMessages",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class CustomField(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    case_sensitive: None | bool = field(
        default=None,
        metadata={
            "name": "caseSensitive",
            "type": "Element",
        },
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    external_id: None | bool = field(
        default=None,
        metadata={
            "name": "externalId",
            "type": "Element",
        },
    )
    inline_help_text: None | str = field(
        default=None,
        metadata={
            "name": "inlineHelpText",
            "type": "Element",
        },
    )
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    length: None | int = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    required: None | bool = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    track_feed_history: None | bool = field(
        default=None,
        metadata={
            "name": "trackFeedHistory",
            "type": "Element",
        },
    )
    track_history: None | bool = field(
        default=None,
        metadata={
            "name": "trackHistory",
            "type": "Element",
        },
    )
    track_trending: None | bool = field(
        default=None,
        metadata={
            "name": "trackTrending",
            "type": "Element",
        },
    )
    type_value: None | FieldType = field(
        default=None,
        metadata={
            "name": "type",
            "type": "Element",
        },
    )
    unique: None | bool = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    value_set: None | ValueSet = field(
        default=None,
        metadata={
            "name": "valueSet",
            "type": "Element",
        },
    )


@dataclass(kw_only=True)
class FlowNode(FlowElement):
    label: None | str = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    location_x: int = field(
        metadata={
            "name": "locationX",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    location_y: int = field(
        metadata={
            "name": "locationY",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )


@dataclass(kw_only=True)
class FlowActionCall(FlowNode):
    action_name: str = field(
        metadata={
            "name": "actionName",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    action_type: InvocableActionType = field(
        metadata={
            "name": "actionType",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        }
    )
    connector: None | FlowConnector = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    fault_connector: None | FlowConnector = field(
        default=None,
        metadata={
            "name": "faultConnector",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    flow_transaction_model: None | FlowTransactionModel = field(
        default=None,
        metadata={
            "name": "flowTransactionModel",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    name_segment: None | str = field(
        default=None,
        metadata={
            "name": "nameSegment",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    offset: None | int = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    store_output_automatically: None | bool = field(
        default=None,
        metadata={
            "name": "storeOutputAutomatically",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    version_segment: None | int = field(
        default=None,
        metadata={
            "name": "versionSegment",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class FlowStart(FlowNode):
    connector: None | FlowConnector = field(
        default=None,
        metadata={
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    does_require_record_changed_to_meet_criteria: None | bool = field(
        default=None,
        metadata={
            "name": "doesRequireRecordChangedToMeetCriteria",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    filter_formula: None | str = field(
        default=None,
        metadata={
            "name": "filterFormula",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    object_value: None | str = field(
        default=None,
        metadata={
            "name": "object",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    record_trigger_type: None | RecordTriggerType = field(
        default=None,
        metadata={
            "name": "recordTriggerType",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )
    trigger_type: None | FlowTriggerType = field(
        default=None,
        metadata={
            "name": "triggerType",
            "type": "Element",
            "namespace": "http://soap.sforce.com/2006/04/metadata",
        },
    )


@dataclass(kw_only=True)
class Flow(Metadata):
    class Meta:
        namespace = "http://soap.sforce.com/2006/04/metadata"

    action_calls: list[FlowActionCall] = field(
        default_factory=list,
        metadata={
            "name": "actionCalls",
            "type": "Element",
        },
    )
    api_version: None | float = field(
        default=None,
        metadata={
            "name": "apiVersion",
            "type": "Element",
        },
    )
    description: None | str = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    environments: list[FlowEnvironment] = field(
        default_factory=list,
        metadata={
            "type": "Element",
        },
    )
    interview_label: None | str = field(
        default=None,
        metadata={
            "name": "interviewLabel",
            "type": "Element",
        },
    )
    label: str = field(
        metadata={
            "type": "Element",
        }
    )
    process_metadata_values: list[FlowMetadataValue] = field(
        default_factory=list,
        metadata={
            "name": "processMetadataValues",
            "type": "Element",
        },
    )
    process_type: None | FlowProcessType = field(
        default=None,
        metadata={
            "name": "processType",
            "type": "Element",
        },
    )
    start: None | FlowStart = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
    status: None | FlowVersionStatus = field(
        default=None,
        metadata={
            "type": "Element",
        },
    )
