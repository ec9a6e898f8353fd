"""The mock ERP's ``reject`` fault: CreateOrder for the chosen Opportunities is refused
with a ValidationFault (no order made), every other order is served."""

from __future__ import annotations

import pytest

from mock_erp.faults import FaultConfig, FaultConfigError, parse_faults


def test_the_reject_fault_round_trips() -> None:
    doc = {"reject": {"references": ["0065g0000000002AAA"], "code": "CUSTOMER_ON_HOLD"}}
    config = parse_faults(doc, now=0)
    assert config.reject_references == frozenset({"0065G0000000002AAA"})
    assert config.reject_code == "CUSTOMER_ON_HOLD"
    assert parse_faults(config.to_json(), now=0) == config
    assert parse_faults({}, now=0) == FaultConfig()


@pytest.mark.parametrize(
    "doc",
    [
        {"reject": {"references": "0065g0000000002AAA"}},
        {"reject": {"references": [1]}},
        {"reject": {"references": [], "code": "no spaces allowed"}},
        {"reject": {"ids": []}},
    ],
)
def test_bad_reject_documents_are_named(doc: object) -> None:
    with pytest.raises(FaultConfigError, match="reject"):
        parse_faults(doc, now=0)
