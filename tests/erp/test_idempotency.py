"""One order per external reference: a hypothesis property and an 8 x 50 concurrent storm."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devstack.mocks import RunningErp
from gateway.erp import OrderRequest
from mock_erp.store import OrderStore

from .conftest import ClientFactory, new_reference
from .hammer import hammer


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.integers(min_value=1, max_value=5).flatmap(
        lambda n: st.lists(st.integers(min_value=0, max_value=n - 1), min_size=1, max_size=12)
    )
)
def test_any_sequence_of_creates_gives_one_order_per_reference(
    erp_server: RunningErp, make_client: ClientFactory, sequence: list[int]
) -> None:
    client = make_client(erp_server.url)
    refs = [new_reference() for _ in range(max(sequence) + 1)]  # fresh per example
    seen: dict[str, list[tuple[str, bool]]] = {}
    for index in sequence:
        result = client.create_order(OrderRequest(external_reference=refs[index]))
        assert result.external_reference == refs[index]
        seen.setdefault(refs[index], []).append((result.order_number, result.created))
    store = OrderStore(erp_server.db_path)
    try:
        for ref, calls in seen.items():
            numbers = {number for number, _ in calls}
            assert len(numbers) == 1, f"{ref} got {numbers}"
            assert [created for _, created in calls] == [True] + [False] * (len(calls) - 1)
            stored = store.by_reference(ref)
            assert stored is not None and stored.order_number in numbers
        all_numbers = [calls[0][0] for calls in seen.values()]
        assert len(set(all_numbers)) == len(all_numbers)  # distinct references, distinct orders
    finally:
        store.close()


def test_eight_processes_fifty_concurrent_creates_twenty_references(erp: RunningErp) -> None:
    refs = [new_reference() for _ in range(20)]
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    out = ctx.Queue()
    rng = random.Random(4)
    plans = []
    for _ in range(8):
        plan = [refs[i % 20] for i in range(50)]
        rng.shuffle(plan)
        plans.append(plan)
    count_store = OrderStore(erp.db_path)
    before = count_store.count()
    procs = [ctx.Process(target=hammer, args=(erp.url, plan, go, out)) for plan in plans]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            assert out.get(timeout=120) == "ready"
        go.set()
        results = []
        for _ in procs:
            batch = out.get(timeout=180)
            assert isinstance(batch, list)
            results.extend(batch)
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    errors = [r for r in results if len(r) == 2]
    assert not errors, errors[:3]
    assert len(results) == 400
    numbers: dict[str, set[str]] = {}
    for ref, number, _ in results:
        numbers.setdefault(ref, set()).add(number)
    assert set(numbers) == set(refs)
    assert all(len(n) == 1 for n in numbers.values()), numbers
    created = Counter(ref for ref, _, was_created in results if was_created)
    assert created == Counter(refs)  # exactly one call per reference created its order
    store = OrderStore(erp.db_path)
    try:
        stored = {ref: store.by_reference(ref) for ref in refs}
    finally:
        store.close()
    assert all(order is not None for order in stored.values())
    assert {ref: {o.order_number} for ref, o in stored.items() if o} == numbers
    assert len({o.order_number for o in stored.values() if o}) == 20
    assert count_store.count() - before == 20  # exactly 20 new orders in the store
    count_store.close()
