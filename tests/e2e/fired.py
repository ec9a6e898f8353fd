"""Proof that an injected fault fired, for faults that leave no other record.

A fault test that passes when its fault never fired proves nothing. Most faults leave a
trace in records the parts keep anyway (a redelivery count, a new OAuth session, a killed
group's exit code, a supervisor log line) and the tests check those. A few leave none: a
row lock, a refusal at the API limit, an ERP answer that came late, never came or was a
503. Only a counter in the mock can prove those, and the mocks are getting one each
(``RunningSalesforce.fired()`` and ``RunningErp.fired()``, counts per fault kind).

PLACEHOLDER until those counters land: :class:`FaultCounters` reads them when the mock
has them and otherwise reports the fault as unproven with an :class:`UnprovenFault`
warning (visible in pytest's summary), so the gap is never silent. Once ``fired()``
exists every check here asserts, with no change to the tests. The kind names are those
the counters are being added with: the org's ``lock_error``, ``limit_exceeded``,
``validation_error``, ``chaos_reorder``, ...; the ERP's ``slow_response``,
``drop_after_commit``, ``error_unavailable``, ``error_http503``, ...
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from devstack.stack import Stack

Mock = Literal["salesforce", "erp"]


class UnprovenFault(UserWarning):
    """A fault test could not prove its fault fired (the mock has no counters yet)."""


def fired_counts(stack: Stack, mock: Mock) -> dict[str, int] | None:
    """The mock's fault counters (kind -> times fired), or None while it has none."""
    part = stack.salesforce if mock == "salesforce" else stack.erp
    fired: Callable[[], Mapping[str, int]] | None = getattr(part, "fired", None)
    if fired is None:
        return None
    return {str(kind): int(count) for kind, count in fired().items()}


@dataclass(frozen=True)
class FaultCounters:
    """Both mocks' counters when a test began; :meth:`assert_fired` compares with now."""

    salesforce: dict[str, int] | None
    erp: dict[str, int] | None

    @classmethod
    def now(cls, stack: Stack) -> FaultCounters:
        return cls(fired_counts(stack, "salesforce"), fired_counts(stack, "erp"))

    def assert_fired(self, stack: Stack, mock: Mock, kind: str) -> None:
        """``kind`` fired in ``mock`` since :meth:`now` (or an :class:`UnprovenFault`)."""
        before = self.salesforce if mock == "salesforce" else self.erp
        after = fired_counts(stack, mock)
        if before is None or after is None:
            warnings.warn(
                UnprovenFault(f"the {mock} mock has no fault counters yet: {kind!r} unproven"),
                stacklevel=2,
            )
            return
        assert after.get(kind, 0) > before.get(kind, 0), (
            f"the {mock} fault {kind!r} never fired (counters before {before}, after {after})"
        )
