"""The XML namespaces the gateway, its contracts and the mocks speak, each defined once.

Named for what they are, not for a prefix some document happens to use: Salesforce's
enterprise and partner APIs each have an API namespace and a separate one for sObject
fields, and the two sObject namespaces are easy to mix up.
"""

from __future__ import annotations

# W3C and WSDL 1.1
SOAP11_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENVELOPE = "http://www.w3.org/2003/05/soap-envelope"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"

# Salesforce outbound messages: notifications/Notification/Ack, and the record fields
OUTBOUND_MESSAGE = "http://soap.sforce.com/2005/09/outbound"
ENTERPRISE = "urn:enterprise.soap.sforce.com"  # holds the ID simple type
ENTERPRISE_SOBJECT = "urn:sobject.enterprise.soap.sforce.com"  # the record's fields

# Salesforce Partner API (SOAP callbacks)
PARTNER = "urn:partner.soap.sforce.com"
PARTNER_SOBJECT = "urn:sobject.partner.soap.sforce.com"
PARTNER_FAULT = "urn:fault.partner.soap.sforce.com"

# The org's own Apex order callback (salesforce/force-app/.../SfgwOrderService.cls)
APEX_ORDER_SERVICE = "http://soap.sforce.com/schemas/class/SfgwOrderService"

# Our ERP's order service (contracts/erp/erp_orders.wsdl)
ERP_ORDERS = "urn:example:erp:orders:v1"

# Salesforce's Metadata API: the org bundle's source-format files (salesforce/force-app)
SALESFORCE_METADATA = "http://soap.sforce.com/2006/04/metadata"
