"""The ack contract, property-based, against a real gunicorn gateway and real Redis.

For any valid message the reply is a schema-valid Ack and the queue holds exactly its
notifications (once, even when delivered twice); for any mutation that breaks the
contract or the rules the reply is a schema-valid SOAP Fault and nothing is enqueued.
Example counts are modest: every example is a real HTTP round trip (or two).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from devstack.launch import RunningGateway, start_gateway
from gateway import sfid
from tests.intake.conftest import CONTRACT, SECRET_KEY, Queues, fault_string, is_ack, post
from tests.intake.messages import ACTION, ORG, OTHER_ORG, Message, make_id, messages, shape
from tests.intake.schema import assert_schema_valid

SECOND_ORG = sfid.to18("00D5e000001AbCd")
ALLOWED = (ORG, SECOND_ORG)
SHAPE = shape(CONTRACT)
FIELDS = [f for f in SHAPE.fields if f.name not in ("Id", "fieldsToNull")]
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@pytest.fixture(scope="module")
def prop_gateway(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, module_prefix: str
) -> Iterator[RunningGateway]:
    running = start_gateway(
        tmp_path_factory.mktemp("prop-gateway"),
        redis_url=redis_url,
        redis_prefix=module_prefix,
        env={
            "SFGW_ALLOWED_ORGS": ",".join(sfid.to15(o) for o in ALLOWED),
            "SFGW_ALLOWED_ACTIONS": ACTION,
            "SFGW_SECRET_KEY": SECRET_KEY,
        },
        workers=2,
    )
    try:
        yield running
    finally:
        running.stop()


def check_jobs(message: Message, jobs: list[dict[str, Any]]) -> None:
    by_id = {j["notification_id"]: j for j in jobs}
    assert len(by_id) == len(jobs) == len(message.records)
    for record in message.records:
        job = by_id[sfid.to18(record.notification_id)]
        assert job["organization_id"] == sfid.to18(message.org)
        assert job["action_id"] == ACTION
        want_record = None if record.record_id is None else sfid.to18(record.record_id)
        assert job["record_id"] == want_record
        assert job["contract"] == CONTRACT and job["object_type"] == "Opportunity"
        assert (job["session_id_encrypted"] is None) == (message.session_id is None)
        # exactly what was sent: the lexical form, None for xsi:nil (or an empty element:
        # Salesforce does not tell an empty text from a null), no key for an omitted one
        assert job["fields"] == {name: value or None for name, value in record.fields.items()}


@PROPERTY
@given(message=messages(CONTRACT, ALLOWED))
def test_valid_messages_are_acked_and_queued_exactly_once(
    message: Message, prop_gateway: RunningGateway, queues: Queues, schema: etree.XMLSchema
) -> None:
    queues.clear()
    url = prop_gateway.outbound_url(CONTRACT)
    body = message.xml()
    for _ in range(2):  # Salesforce may deliver the same message twice
        response = post(url, body)
        assert is_ack(response), response.text[:500]
        assert_schema_valid(schema, response.content)
    check_jobs(message, queues.jobs())


def _bad_id(value: str, how: int) -> str:
    if how == 0:
        return value[:-1]  # wrong length
    if how == 1:
        return value[:5] + "!" + value[6:]  # not alphanumeric
    id18 = sfid.to18(value)
    return id18[:17] + ("9" if id18[17] != "9" else "8")  # checksum never uses 6-9


Mutation = Callable[[Message, st.DataObject], bytes]


def _pick(message: Message, data: st.DataObject) -> int:
    return data.draw(st.integers(0, len(message.records) - 1))


def wrong_org(m: Message, d: st.DataObject) -> bytes:
    m.org = d.draw(st.sampled_from([OTHER_ORG, sfid.to15(OTHER_ORG)]))
    return m.xml()


def wrong_action(m: Message, d: st.DataObject) -> bytes:
    m.action = make_id("04k", 424242)
    return m.xml()


def bad_notification_id(m: Message, d: st.DataObject) -> bytes:
    r = m.records[_pick(m, d)]
    r.notification_id = _bad_id(r.notification_id, d.draw(st.integers(0, 2)))
    return m.xml()


def bad_record_id(m: Message, d: st.DataObject) -> bytes:
    r = m.records[_pick(m, d)]
    r.record_id = _bad_id(r.record_id or make_id("006", 9), d.draw(st.integers(0, 2)))
    return m.xml()


def bad_account_id(m: Message, d: st.DataObject) -> bytes:
    m.records[_pick(m, d)].fields["AccountId"] = _bad_id(
        make_id("001", 7), d.draw(st.integers(0, 2))
    )
    return m.xml()


def wrong_type(m: Message, d: st.DataObject) -> bytes:
    m.records[_pick(m, d)].xsi_type = d.draw(
        st.sampled_from(
            ["sf:Account", "sf:Contact", "sf:AggregateResult", "sf:sObject", "x:Opportunity"]
        )
    )
    return m.xml()


def bad_value(m: Message, d: st.DataObject) -> bytes:
    name, value = d.draw(
        st.sampled_from(
            [
                ("Amount", "lots"),
                ("CloseDate", "2024-13-45"),
                ("IsWon", "yes"),
                ("LastModifiedDate", "yesterday"),
            ]
        )
    )
    m.records[_pick(m, d)].fields[name] = value
    return m.xml()


def unknown_field(m: Message, d: st.DataObject) -> bytes:
    m.records[_pick(m, d)].fields["Secret__c"] = "x"
    return m.xml()


def too_many(m: Message, d: st.DataObject) -> bytes:
    template = m.records[0]
    while len(m.records) < 101:
        extra = copy.deepcopy(template)
        extra.notification_id = make_id("04l", 900_000 + len(m.records))
        m.records.append(extra)
    return m.xml()


def none_at_all(m: Message, d: st.DataObject) -> bytes:
    m.records = []
    return m.xml()


def wrong_namespace(m: Message, d: st.DataObject) -> bytes:
    m.namespace = "http://soap.sforce.com/2005/09/inbound"
    return m.xml()


def missing_org(m: Message, d: st.DataObject) -> bytes:
    body = m.xml()
    start = body.index(b"<OrganizationId>")
    end = body.index(b"</OrganizationId>") + len(b"</OrganizationId>")
    return body[:start] + body[end:]


def truncated(m: Message, d: st.DataObject) -> bytes:
    body = m.xml()
    return body[: d.draw(st.integers(0, len(body) - 1))]


MUTATIONS: list[Mutation] = [
    wrong_org,
    wrong_action,
    bad_notification_id,
    bad_record_id,
    bad_account_id,
    wrong_type,
    bad_value,
    unknown_field,
    too_many,
    none_at_all,
    wrong_namespace,
    missing_org,
    truncated,
]


@PROPERTY
@given(
    message=messages(CONTRACT, ALLOWED, max_notifications=10),
    mutation=st.sampled_from(MUTATIONS),
    data=st.data(),
)
def test_mutations_get_a_schema_valid_fault_and_enqueue_nothing(  # noqa: PLR0917
    message: Message,
    mutation: Mutation,
    data: st.DataObject,
    prop_gateway: RunningGateway,
    queues: Queues,
    schema: etree.XMLSchema,
) -> None:
    queues.clear()
    body = mutation(message, data)
    response = post(prop_gateway.outbound_url(CONTRACT), body)
    assert fault_string(response), mutation.__name__
    assert_schema_valid(schema, response.content)
    assert queues.messages() == []
