"""The multi-host suite's fixture: one topology (tests/hosts/topology.py) for every test
here, started once, torn down -- namespaces included -- however the tests end.

On a machine where network namespaces cannot be made (not root, no iproute2) every test
here is skipped with the reason, and ``scripts/test`` says in one line that the suite did
not run and why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hosts.netns import cannot_build_namespaces
from tests.hosts.topology import Topology

REASON = cannot_build_namespaces()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if REASON is None:
        return
    skip = pytest.mark.skip(reason=f"multi-host suite did not run: {REASON}")
    for item in items:
        if "tests/hosts/" in item.nodeid:
            item.add_marker(skip)


@pytest.fixture(scope="package")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    running = Topology(tmp_path_factory.mktemp("hosts")).start()
    try:
        yield running
    finally:
        running.stop()
