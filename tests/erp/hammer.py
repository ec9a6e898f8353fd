"""One process of the concurrency test: N threads, one CreateOrder each, released together.

Importable by ``multiprocessing`` (spawn), so it lives in a module of its own.
"""

from __future__ import annotations

import threading
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from gateway.erp import ErpClient, ErpError, ErpSettings
from gateway.orders import OrderRequest
from gateway.settings import PROJECT_ROOT


def hammer(url: str, refs: list[str], go: Event, out: Queue[object]) -> None:
    client = ErpClient(
        ErpSettings.from_env(
            {
                "SFGW_ERP_URL": url,
                "SFGW_ERP_READ_TIMEOUT_S": "120",
                "SFGW_ERP_POOL_SIZE": str(len(refs)),
            },
            contracts_dir=PROJECT_ROOT / "contracts",
        )
    )
    results: list[tuple[str, str, bool] | tuple[str, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(refs))

    def one(ref: str) -> None:
        barrier.wait()
        try:
            result = client.create_order(OrderRequest(external_reference=ref))
            item: tuple[str, str, bool] | tuple[str, str] = (
                ref,
                result.order_number,
                result.created,
            )
        except ErpError as error:
            item = (ref, f"error: {error.reason}")
        with lock:
            results.append(item)

    threads = [threading.Thread(target=one, args=(ref,)) for ref in refs]
    out.put("ready")
    go.wait(120)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(results)
