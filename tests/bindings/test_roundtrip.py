"""Round-trip properties of the generated bindings: object -> XML -> object is identity,
and serialise(parse(serialise(x))) == serialise(x), for the outbound-message, partner
and ERP types (all through ContractBinder, the way the product binds and renders)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xsdata.formats.dataclass.context import XmlContext

from gateway.bindings.binder import ContractBinder
from gateway.soap import parse_xml
from tests.bindings import strategies as s

OUTBOUND = ("generated.opportunity_id_only", "generated.opportunity_with_fields")
BINDERS = {
    package: ContractBinder(package)
    for package in (*OUTBOUND, "generated.partner", "generated.erp_orders")
}


def round_trip(binder: ContractBinder, obj: Any) -> None:
    xml = binder.render(obj)
    back = binder.bind(parse_xml(xml), type(obj))
    assert back == obj
    assert binder.render(back) == xml


def _strategy(package: str, name: str, **kwargs: Any) -> st.SearchStrategy[Any]:
    binder = BINDERS[package]
    return s.for_class(getattr(binder.module, name), XmlContext(models_package=package), **kwargs)


@pytest.mark.parametrize("package", OUTBOUND)
def test_outbound_notifications_round_trip(package: str) -> None:
    binder = BINDERS[package]

    @settings(deadline=None)
    @given(s.notifications(binder.module, package, max_size=100))
    def check(message: Any) -> None:
        assert 1 <= len(message.notification) <= 100
        round_trip(binder, message)

    check()


@pytest.mark.parametrize("package", OUTBOUND)
def test_a_full_100_notification_message_round_trips(package: str) -> None:
    binder = BINDERS[package]

    # 100 independently drawn records exceed hypothesis' entropy budget; draw a few
    # and repeat them, which still exercises a full-size message end to end.
    full = s.notifications(binder.module, package, max_size=5).map(
        lambda m: dataclasses.replace(m, notification=(m.notification * 100)[:100])
    )

    @settings(deadline=None, max_examples=10)
    @given(full)
    def check(message: Any) -> None:
        assert len(message.notification) == 100
        round_trip(binder, message)

    check()


PARTNER = [
    "Update",
    "UpdateResponse",
    "Retrieve",
    "RetrieveResponse",
    "Fault",
    "InvalidIdFault",
    "UnexpectedErrorFault",
    "InvalidFieldFault",
    "InvalidSobjectFault",
    "MalformedQueryFault",
    "SessionHeader",
]
ERP = [
    "CreateOrder",
    "CreateOrderResponse",
    "GetOrder",
    "GetOrderResponse",
    "OrderNotFoundFault",
    "UnavailableFault",
    "ValidationFault",
]


@pytest.mark.parametrize(
    ("package", "name"),
    [("generated.partner", n) for n in PARTNER] + [("generated.erp_orders", n) for n in ERP],
)
def test_partner_and_erp_types_round_trip(package: str, name: str) -> None:
    binder = BINDERS[package]

    @settings(deadline=None)
    @given(_strategy(package, name))
    def check(obj: Any) -> None:
        round_trip(binder, obj)

    check()


def test_update_response_draws_failed_saves_with_errors() -> None:
    """The partner strategy reaches the interesting case: success=false with errors."""
    seen: list[Any] = []

    @settings(deadline=None, max_examples=40)
    @given(_strategy("generated.partner", "UpdateResponse"))
    def collect(obj: Any) -> None:
        seen.extend(r for r in obj.result if not r.success and r.errors and r.id is None)

    collect()
    assert seen
