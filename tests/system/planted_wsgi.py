"""A deliberately broken gateway, for proving that the state machine catches bugs.

TEST-ONLY. gunicorn loads ``tests.system.planted_wsgi:build()`` instead of the product's
``gateway.intake.wsgi:build()``; this wrapper patches the intake's enqueue according to
``SFGW_TEST_PLANTED_BUG`` (read here and nowhere in the product) and then builds the real
app. The product code has no switch for any of this.

* ``ack_then_drop``: the gateway answers ``Ack=true`` without writing anything to Redis,
  as a gateway that acks first and enqueues "later" (and then crashes) would.
* ``dedupe_ignores_org``: the dedupe key is the notification id alone, so a notification
  of another org that happens to carry the same id is acked and silently dropped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from gateway.intake import enqueue
from gateway.intake.wsgi import build as build_real
from gateway.jobs import NotificationJob

PLANTED_BUGS = ("ack_then_drop", "dedupe_ignores_org")


def _ack_then_drop(
    self: enqueue.DurableQueue, jobs: Sequence[NotificationJob], route: Any
) -> enqueue.EnqueueResult:
    return enqueue.EnqueueResult(added=len(jobs), duplicates=0)


def _dedupe_key_without_org(self: enqueue.DurableQueue, job: NotificationJob) -> str:
    return self._core.key("intake", "dedupe", job.notification_id)


def plant(bug: str) -> None:
    if bug == "ack_then_drop":
        enqueue.DurableQueue.enqueue = _ack_then_drop  # type: ignore[method-assign]
    elif bug == "dedupe_ignores_org":
        enqueue.DurableQueue.dedupe_key = _dedupe_key_without_org  # type: ignore[method-assign]
    else:
        raise RuntimeError(f"SFGW_TEST_PLANTED_BUG={bug!r}: use one of {', '.join(PLANTED_BUGS)}")


def build() -> Any:
    plant(os.environ["SFGW_TEST_PLANTED_BUG"])
    return build_real()
