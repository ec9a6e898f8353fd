"""One stack for every documented command that needs a running system.

Started once for the package (the doc tests only add records to it; each waits for what
it started to settle, :meth:`devstack.stack.Stack.wait_settled`), with the config
docs/demo.md's python snippet shows (``callback_api="collections"``), small sizes and a
fast mock clock.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import Stack, StackConfig, start_stack
from tests.docs.runner import Docs

SETTLED = 10

FAST_RETRIES = {
    "SFGW_RETRY_MIN_BACKOFF_MS": "100",
    "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
    "SFGW_RETRY_LIMIT_BACKOFF_MS": "1000",
}


@pytest.fixture(scope="package")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Docs:
    return Docs(tmp_path_factory.mktemp("doc-logs"))


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        workdir=tmp_path_factory.mktemp("stack"),
        callback_api="collections",
        gateway_workers=1,
        worker_processes=1,
        worker_threads=4,
        erp_workers=1,
        salesforce_workers=1,
        time_scale=1000,
        env=FAST_RETRIES,
    )
    with start_stack(config) as running:
        salesforce = running.need(running.salesforce, "mock Salesforce")
        running.wait_settled(salesforce.close_won(SETTLED))
        yield running
