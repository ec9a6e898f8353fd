"""``sfgw salesforce serve``: the API under gunicorn plus exactly one sender.

The sender runs as a thread of this (the parent) process, never in a gunicorn worker, so
``--workers 4`` gives four API processes and still one sender; the SQLite sender lease
also stops a second ``serve`` on the same database from sending.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from types import FrameType

from mock_salesforce.sender import Sender
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.store import OrgStore

log = logging.getLogger("sfgw.salesforce")


def apply_definitions(store: OrgStore, settings: SalesforceSettings) -> None:
    """One definition per configured contract, pointing at the gateway's intake route."""
    if settings.gateway_url is None:
        return
    base = settings.gateway_url.rstrip("/")
    store.set_definitions(
        [
            {
                "name": contract,
                "contract": contract,
                "endpoint_url": f"{base}/salesforce/outbound/{contract}",
                "include_session_id": settings.send_session_id,
            }
            for contract in settings.contracts
        ]
    )


def serve(bind: str, workers: int, run_sender: bool = True) -> int:
    host, _, port = bind.rpartition(":")
    os.environ.setdefault("SFGW_MOCKSF_BASE_URL", f"http://{host or '127.0.0.1'}:{port}")
    settings = SalesforceSettings.from_env()
    logging.basicConfig(
        level=os.environ.get("SFGW_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for contract in settings.contracts:
        __import__(f"generated.{contract}")
    store = OrgStore(settings.db_path)
    apply_definitions(store, settings)
    store.close()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "120",
            "--log-level",
            "warning",
            "mock_salesforce.wsgi:app",
        ],
        env=dict(os.environ),
    )
    sender = Sender(settings, os.environ["SFGW_MOCKSF_BASE_URL"]) if run_sender else None
    thread = threading.Thread(target=sender.run, name="om-sender", daemon=True) if sender else None
    if thread is not None:
        thread.start()

    def stop(signum: int, frame: FrameType | None) -> None:
        if sender is not None:
            sender.stop_event.set()
        if gunicorn.poll() is None:
            gunicorn.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = gunicorn.wait()
    if sender is not None:
        sender.stop_event.set()
    if thread is not None:
        thread.join(timeout=10)
    return 0 if code in (0, -signal.SIGTERM) else 1
