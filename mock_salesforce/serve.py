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

from gateway.config import ConfigError
from mock_salesforce import deployment
from mock_salesforce.sender import Sender
from mock_salesforce.settings import SalesforceSettings
from mock_salesforce.store import OrgStore

log = logging.getLogger("sfgw.salesforce")


def deploy(store: OrgStore, settings: SalesforceSettings) -> deployment.Deployment:
    """Run the org on its bundle: a column for each custom field and, when the gateway's
    URL is known, one definition per outbound message of the bundle (those posting to
    ``SFGW_MOCKSF_CONTRACTS`` only, when it is set), its endpoint on the gateway's host.
    ConfigError names what in the bundle or the settings cannot run."""
    try:
        deployed = deployment.load(settings.bundle_path)
    except deployment.DeploymentError as error:
        raise ConfigError(f"SFGW_MOCKSF_BUNDLE={settings.bundle_path}: {error}") from None
    try:
        chosen = deployed.chosen(settings.contracts)
    except deployment.DeploymentError as error:
        raise ConfigError(f"SFGW_MOCKSF_CONTRACTS: {error}") from None
    for message in chosen:
        try:
            __import__(f"generated.{message.contract}")
        except ImportError:
            raise ConfigError(
                f"SFGW_MOCKSF_BUNDLE: {message.name} posts to contract {message.contract}, "
                "which has no generated bindings (sfgw bindings generate)"
            ) from None
    store.ensure_fields(deployed.schema.custom_fields)
    if settings.gateway_url is not None:
        store.set_definitions(
            [m.definition(settings.gateway_url, settings.send_session_id) for m in chosen]
        )
    for reason in deployed.skipped:
        log.info("org bundle: not run by the mock org: %s", reason)
    return deployed


def serve(bind: str, workers: int, run_sender: bool = True) -> int:
    host, _, port = bind.rpartition(":")
    os.environ.setdefault("SFGW_MOCKSF_BASE_URL", f"http://{host or '127.0.0.1'}:{port}")
    settings = SalesforceSettings.from_env()
    logging.basicConfig(
        level=os.environ.get("SFGW_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    store = OrgStore(settings.db_path)
    try:
        deploy(store, settings)
    finally:
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
