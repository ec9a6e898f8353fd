"""A batch whose whole call throws, narrowed down to the records that make it throw.

The platform APIs (Collections, the Partner ``update``) answer per record or fail for
reasons that have nothing to do with the records (a session, a limit, an outage). The
org's own Apex can also fail as a whole *because of* the records: one record whose
trigger throws, or a batch too large for the transaction's governor limits
(``System.LimitException``). Retrying such a batch with backoff would hold every good
record in it back for as long as the bad one is in it, and would dead-letter all of them
at the end. So, on :class:`~gateway.salesforce.errors.ApexCallFailed`:

1. the batch is sent once more as it is (the throw may have been transient);
2. then it is split in halves, and each half that throws again is split again;
3. a single record that still throws on its own, while other records of the batch were
   saved, is that record's failure: it gets the Apex message, code ``APEX_ERROR``, and
   becomes a dead letter like any permanent error.

A batch of ``n`` with one bad record costs about ``2 + 2·log2(n)`` calls instead of
holding ``n`` records. If the Apex throws for every input (a broken deployment), nothing
was saved, so nothing is blamed on a record: the narrowing stops after a budget of
failed calls, and every record backs off and retries with the call's exception, like
any whole-call failure (and becomes a dead letter only when its retry window ends).

This module only decides what to send and what each record's outcome is; the call itself
is the caller's (a :class:`~gateway.pipeline.callbacks.flushers.Flusher`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.salesforce.errors import ApexCallFailed, RecordOutcome

T = TypeVar("T")

Outcome = RecordOutcome | BaseException
#: ``call(records)`` sends one call and returns one outcome per record, or raises.
Call = Callable[[Sequence[T]], Sequence[RecordOutcome]]

#: The code a record gets when the Apex throws on it alone (permanent: not retryable).
ISOLATED_CODE = "APEX_ERROR"


@dataclass
class _Budget:
    """How many more failed calls the narrowing of one batch may spend."""

    left: int

    def spend(self) -> bool:
        self.left -= 1
        return self.left >= 0


def failure_budget(size: int) -> int:
    """Enough failed calls to isolate two bad records in a batch of ``size``."""
    return 2 + 4 * max(1, math.ceil(math.log2(max(size, 2))))


def send_narrowing(
    call: Call[T],
    records: Sequence[T],
    record_id: Callable[[T], str],
) -> list[Outcome]:
    """One outcome per record, in order, after as few calls as the failures allow."""
    try:
        return list(call(records))
    except ApexCallFailed:
        pass
    except Exception as error:
        return [error] * len(records)
    budget = _Budget(failure_budget(len(records)))
    try:
        return list(call(records))  # once more as it is
    except ApexCallFailed as error:
        budget.spend()
        thrown = error
    except Exception as error:
        return [error] * len(records)
    outcomes = _split(call, records, record_id, thrown, budget)
    if any(isinstance(outcome, RecordOutcome) and outcome.ok for outcome in outcomes):
        return outcomes
    # nothing saved: no evidence that any one record is at fault
    return [thrown if _isolated(outcome) else outcome for outcome in outcomes]


def _isolated(outcome: Outcome) -> bool:
    return isinstance(outcome, RecordOutcome) and outcome.code == ISOLATED_CODE


def _split(
    call: Call[T],
    records: Sequence[T],
    record_id: Callable[[T], str],
    error: ApexCallFailed,
    budget: _Budget,
) -> list[Outcome]:
    """The outcomes of ``records``, whose call just threw ``error``."""
    if len(records) == 1:
        return [
            RecordOutcome.failure(
                record_id(records[0]), ISOLATED_CODE,
                f"the Apex callback throws on this record alone: {error.message}",
            )
        ]  # fmt: skip
    if budget.left <= 0:
        return [error] * len(records)
    middle = len(records) // 2
    outcomes: list[Outcome] = []
    for half in (records[:middle], records[middle:]):
        try:
            outcomes.extend(call(half))
        except ApexCallFailed as again:
            budget.spend()
            outcomes.extend(_split(call, half, record_id, again, budget))
        except Exception as other:
            outcomes.extend([other] * len(half))
    return outcomes
