"""Proof that an injected fault fired, for faults that leave no other record.

A fault test that passes when its fault never fired proves nothing. Most faults leave a
trace in records the parts keep anyway (a redelivery count, a new OAuth session, a killed
group's exit code, a supervisor log line) and the tests check those. A few leave none: a
row lock, a refusal at the API limit, an ERP answer that came late, never came or was a
503. The mocks count each of those (``RunningSalesforce.fired()``: ``lock_error``,
``limit_exceeded``, ``validation_error``, ``chaos_reorder``, ...; ``RunningErp.fired()``:
``slow_response``, ``drop_after_commit``, ``error_unavailable``, ``error_http503``, ...),
and :class:`FaultCounters` compares two readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from devstack.stack import Stack

Mock = Literal["salesforce", "erp"]


def fired_counts(stack: Stack, mock: Mock) -> dict[str, int]:
    """The mock's fault counters: kind -> times fired."""
    if mock == "salesforce":
        counts = stack.need(stack.salesforce, "mock Salesforce").fired()
    else:
        counts = stack.need(stack.erp, "mock ERP").fired()
    return {str(kind): int(count) for kind, count in counts.items()}


@dataclass(frozen=True)
class FaultCounters:
    """Both mocks' counters when a test began; :meth:`assert_fired` compares with now."""

    salesforce: dict[str, int]
    erp: dict[str, int]

    @classmethod
    def now(cls, stack: Stack) -> FaultCounters:
        salesforce = fired_counts(stack, "salesforce") if stack.salesforce else {}
        erp = fired_counts(stack, "erp") if stack.erp else {}
        return cls(salesforce, erp)

    def assert_fired(self, stack: Stack, mock: Mock, kind: str) -> None:
        """``kind`` fired in ``mock`` since :meth:`now`."""
        before = self.salesforce if mock == "salesforce" else self.erp
        after = fired_counts(stack, mock)
        assert kind in after, f"the {mock} mock counts no fault called {kind!r}: {sorted(after)}"
        assert after[kind] > before.get(kind, 0), (
            f"the {mock} fault {kind!r} never fired (counters before {before}, after {after})"
        )
