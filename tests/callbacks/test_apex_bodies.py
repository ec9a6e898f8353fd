"""What an Apex callback sends: the largest batch stays far below Apex's 6 MB request limit,
and the SOAP body is the class's contract (read back with the same generated bindings)."""

from __future__ import annotations

import json

import pytest
import requests

from gateway.bindings.binder import ContractBinder
from gateway.namespaces import APEX_ORDER_SERVICE
from gateway.salesforce.apex import (
    BINDINGS,
    MAX_RECORDS_PER_APEX_CALL,
    ApexRestApi,
    ApexSoapApi,
)
from gateway.salesforce.api import RecordUpdate
from gateway.salesforce.settings import SalesforceSettings
from gateway.soap import parse_envelope

#: Far below the 6 MB that Apex accepts; the margin is for long custom field values.
BODY_CEILING = 1_000_000


def settings() -> SalesforceSettings:
    return SalesforceSettings.from_env(
        {"SFGW_CALLBACK_API": "apex_soap", "SFGW_SF_CLIENT_ID": "id", "SFGW_SF_CLIENT_SECRET": "s"}
    )


def largest_batch() -> list[RecordUpdate]:
    """2,000 records with 18-character ids and 40-character order numbers and statuses."""
    sf = settings()
    return [
        RecordUpdate(
            f"006{n:015d}",
            {sf.order_number_field: f"SO-{n:037d}", sf.order_status_field: "S" * 40},
        )
        for n in range(MAX_RECORDS_PER_APEX_CALL)
    ]


@pytest.mark.parametrize("api_class", [ApexSoapApi, ApexRestApi])
def test_the_largest_batch_stays_far_below_the_request_limit(api_class: type) -> None:
    api = api_class(settings(), requests.Session())
    records = largest_batch()
    body = api.body(records, "00D" + "x" * 109) if api_class is ApexSoapApi else api.body(records)
    print(f"{api_class.__name__}: {len(records)} records = {len(body):,} bytes")
    assert len(body) < BODY_CEILING


def test_the_soap_body_is_an_update_orders_call_with_the_token_in_the_session_header() -> None:
    api = ApexSoapApi(settings(), requests.Session())
    records = largest_batch()[:3]
    parsed = parse_envelope(api.body(records, "TOKEN"))
    binder = ContractBinder(BINDINGS)
    call = binder.bind(
        parsed.payload, binder.element_class(f"{{{APEX_ORDER_SERVICE}}}updateOrders")
    )
    assert [u.opportunity_id for u in call.updates] == [r.record_id for r in records]
    assert call.updates[0].order_number == records[0].fields["Order_Number__c"]
    header = parsed.header
    assert header is not None
    assert (
        header.findtext(f"{{{APEX_ORDER_SERVICE}}}SessionHeader/{{{APEX_ORDER_SERVICE}}}sessionId")
        == "TOKEN"
    )


def test_the_rest_body_uses_the_apex_member_names() -> None:
    api = ApexRestApi(settings(), requests.Session())
    body = json.loads(api.body(largest_batch()[:1]))
    assert body == {
        "updates": [
            {
                "opportunityId": "006000000000000000",
                "orderNumber": "SO-" + "0" * 37,
                "orderStatus": "S" * 40,
            }
        ]
    }
