"""Start the mock ERP and the mock Salesforce org as real processes (tests, demo, bench).

    erp = start_mock_erp(tmp_path, faults={"latency": {"ms": 50}})
    sf = start_mock_salesforce(tmp_path, gateway_url="http://127.0.0.1:8000", time_scale=1000)
    try:
        ids = sf.close_won(250)          # the rule queues one notification per Opportunity
        sf.wait_delivered(timeout=60)    # every message acked by the gateway
        sf.opportunities()               # order fields written back by the callbacks
    finally:
        sf.stop()
        erp.stop()

Each is its own ``sfgw erp serve`` / ``sfgw salesforce serve`` on a free loopback port,
with its database under ``workdir``; the helpers talk to their loopback-only admin
endpoints.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from devstack.processes import ChildProcess, free_port, wait_for_http


@dataclass
class RunningErp:
    url: str
    admin_url: str
    db_path: Path
    child: ChildProcess

    @property
    def wsdl_url(self) -> str:
        return self.url + "?wsdl"

    def set_faults(self, faults: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Replace the fault document (``set_faults()`` clears every fault)."""
        doc = dict(faults or {}, **kwargs)
        request = urllib.request.Request(  # noqa: S310 - our own loopback URL
            self.admin_url,
            data=json.dumps(doc).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result

    def get_faults(self) -> dict[str, Any]:
        """``{"faults": the document, "fired": the counters, "now": the server's clock}``."""
        with urllib.request.urlopen(self.admin_url, timeout=30) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result

    def fired(self) -> dict[str, int]:
        """The server's own counters (``requests`` and one per fault, see
        ``mock_erp.counters``): a fault test compares two readings to prove what fired."""
        counters: dict[str, int] = self.get_faults()["fired"]
        return counters

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_for_http(self.child, self.wsdl_url, timeout=timeout)

    def stop(self) -> None:
        self.child.stop()


def erp_url(port: int) -> str:
    """The order service's URL when the mock ERP listens on loopback ``port``."""
    return f"http://127.0.0.1:{port}/erp/orders"


def start_mock_erp(
    workdir: Path,
    *,
    faults: Mapping[str, Any] | None = None,
    workers: int = 2,
    port: int | None = None,
    db_path: Path | None = None,
    env: Mapping[str, str] | None = None,
    wait: bool = True,
) -> RunningErp:
    """``sfgw erp serve`` on a free loopback port, its store and log under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    db = db_path or workdir / "erp.sqlite3"
    argv = [
        sys.executable,
        "-m",
        "gateway.cli",
        "erp",
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--db",
        str(db),
        "--workers",
        str(workers),
    ]
    if faults is not None:
        argv += ["--faults", json.dumps(dict(faults))]
    child_env = dict(os.environ if env is None else env)
    child = ChildProcess(
        name="mock-erp", argv=argv, env=child_env, log_path=workdir / "mock-erp.log"
    ).start()
    running = RunningErp(
        url=erp_url(port),
        admin_url=f"http://127.0.0.1:{port}/__admin/faults",
        db_path=db,
        child=child,
    )
    if wait:
        try:
            running.wait_ready()
        except BaseException:
            child.stop()
            raise
    return running


@dataclass
class RunningSalesforce:
    url: str
    org_id: str
    db_path: Path
    process: ChildProcess
    client_id: str
    client_secret: str
    username: str
    login_url: str

    @property
    def token_url(self) -> str:
        return f"{self.url}/services/oauth2/token"

    def _admin(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        response = requests.request(
            method, f"{self.url}/admin/{path}", json=body, params=params, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def close_won(self, n: int) -> list[str]:
        """Move ``n`` Opportunities to Closed Won (creating them if needed); their ids."""
        ids: list[str] = self._admin("POST", "close-won", {"count": n})["ids"]
        return ids

    def create_opportunities(self, n: int) -> list[str]:
        ids: list[str] = self._admin("POST", "opportunities", {"count": n})["ids"]
        return ids

    def opportunities(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._admin("GET", "opportunities")
        return rows

    def update_opportunity(self, oid: str, **fields: Any) -> dict[str, Any]:
        row: dict[str, Any] = self._admin("PATCH", f"opportunities/{oid}", fields)
        return row

    def delete_opportunity(self, oid: str) -> None:
        self._admin("DELETE", f"opportunities/{oid}")

    def deliveries(
        self, *, include_delivered: bool = False, attempts: bool = False
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._admin(
            "GET", "deliveries", all=str(include_delivered).lower(), attempts=str(attempts).lower()
        )
        return rows

    def set_definitions(self, definitions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._admin("PUT", "definitions", definitions)
        return rows

    def queued_notifications(self) -> int:
        """How many notifications the org's flows have queued (sent or not): a save that
        ran no flow leaves it unchanged, at once."""
        return int(self._admin("GET", "notifications")["queued"])

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Change the fields given of the org's fault document (``mock_salesforce.faults``:
        ``lock_probability``, ``lock_first_attempt``, ``lock_ids``, ``call_errors``,
        ``unavailable_probability``, ``validation_fail_ids``, ``daily_api_limit``,
        ``issue_expired_tokens``, ``chaos_redeliver``/``_reorder``/``_split``); returns it."""
        result: dict[str, Any] = self._admin("PUT", "faults", faults)
        return result

    def faults(self) -> dict[str, Any]:
        """The fault document now (counted faults show what is left of them)."""
        result: dict[str, Any] = self._admin("GET", "faults")
        return result

    def set_apex(self, **settings: Any) -> dict[str, Any]:
        """Change the org's Apex callback classes: ``deployed`` (false: an org without
        them) and ``dml_row_limit`` (Apex's 10,000 rows; lower it to force the
        ``System.LimitException`` of a bigger batch); returns the settings now."""
        result: dict[str, Any] = self._admin("PUT", "apex", settings)
        return result

    def api_usage(self) -> dict[str, Any]:
        """Today's ``api_requests`` and ``token_requests``, the ``daily_api_limit`` in
        effect and ``fired`` (every fault counter, summed over all days)."""
        usage: dict[str, Any] = self._admin("GET", "usage")
        return usage

    def fired(self) -> dict[str, int]:
        """How often each fault fired (``invalid_session``, ``limit_exceeded``,
        ``unavailable``, ``lock_error``, ``validation_error``, ``chaos_redeliver``,
        ``chaos_reorder``, ``chaos_split``): compare two readings to prove a fault fired."""
        counters: dict[str, int] = self.api_usage()["fired"]
        return counters

    def reset_usage(self) -> None:
        self._admin("DELETE", "usage")

    def expire_sessions(self) -> int:
        """Expire every session; how many were still live."""
        return int(self._admin("DELETE", "sessions")["expired"])

    def new_session_id(self) -> str:
        return str(self._admin("POST", "sessions")["session_id"])

    def client_credentials_token(self) -> str:
        response = requests.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def wait_delivered(
        self, timeout: float = 120.0, *, notifications: int | None = None
    ) -> list[dict[str, Any]]:
        """Wait until no message is pending; returns all messages (raises on timeout).

        Queued notifications become messages only when the sender picks them up, so a
        caller that knows how many it queued passes ``notifications`` to also wait until
        that many are in finished messages.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.deliveries(include_delivered=True)
            finished = rows and all(r["status"] != "pending" for r in rows)
            if finished and (
                notifications is None or sum(r["notifications"] for r in rows) >= notifications
            ):
                return rows
            time.sleep(0.2)
        raise TimeoutError(f"messages still pending after {timeout:.0f}s: {self.deliveries()}")

    def stop(self) -> None:
        self.process.stop()


def salesforce_url(port: int) -> str:
    """The org's base URL (instance and login) when it listens on loopback ``port``."""
    return f"http://127.0.0.1:{port}"


def start_mock_salesforce(
    workdir: Path,
    *,
    gateway_url: str | None,
    contract: str = "opportunity_with_fields",
    send_session_id: bool = False,
    time_scale: float = 1.0,
    client_id: str = "sfgw-client",
    client_secret: str = "sfgw-secret",  # noqa: S107 - a test default, documented
    jwt_cert_pem: bytes | str | None = None,
    username: str = "integration@sfgw.example",
    login_url: str = "https://login.salesforce.com",
    workers: int = 2,
    session_ttl: float = 7200.0,
    daily_api_limit: int = 100_000,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
    port: int | None = None,
    bundle: Path | None = None,
) -> RunningSalesforce:
    """``port``: listen there (the caller chose it to tell others the URL before the org
    is up); ``None`` picks a free one. ``bundle``: the org bundle (SFDX project) to run
    on instead of the repository's ``salesforce/``; ``contract``: the contract whose
    outbound messages of the bundle are active (``"*"``: all of them)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    db_path = workdir / "salesforce.sqlite3"
    child_env = dict(os.environ)
    child_env.update(
        {
            "SFGW_MOCKSF_DB": str(db_path),
            "SFGW_MOCKSF_CONTRACTS": contract,
            "SFGW_MOCKSF_SEND_SESSION_ID": str(send_session_id).lower(),
            "SFGW_MOCKSF_TIME_SCALE": str(time_scale),
            "SFGW_MOCKSF_CLIENT_ID": client_id,
            "SFGW_MOCKSF_CLIENT_SECRET": client_secret,
            "SFGW_MOCKSF_USERNAME": username,
            "SFGW_MOCKSF_LOGIN_URL": login_url,
            "SFGW_MOCKSF_SESSION_TTL": str(session_ttl),
            "SFGW_MOCKSF_DAILY_API_LIMIT": str(daily_api_limit),
            "SFGW_MOCKSF_BASE_URL": salesforce_url(port),
        }
    )
    if gateway_url:
        child_env["SFGW_MOCKSF_GATEWAY_URL"] = gateway_url
    if bundle is not None:
        child_env["SFGW_MOCKSF_BUNDLE"] = str(bundle)
    if jwt_cert_pem is not None:
        cert = workdir / "jwt_cert.pem"
        cert.write_bytes(jwt_cert_pem.encode() if isinstance(jwt_cert_pem, str) else jwt_cert_pem)
        child_env["SFGW_MOCKSF_JWT_CERT"] = str(cert)
    child_env.update(env or {})
    process = ChildProcess(
        name="mock-salesforce",
        argv=[
            sys.executable,
            "-m",
            "gateway.cli",
            "salesforce",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
        ],
        env=child_env,
        log_path=workdir / "mock_salesforce.log",
    ).start()
    url = salesforce_url(port)
    try:
        wait_for_http(process, f"{url}/healthz", timeout=startup_timeout)
        org = requests.get(f"{url}/admin/org", timeout=30).json()
    except BaseException:
        process.stop()
        raise
    return RunningSalesforce(
        url, org["org_id"], db_path, process, client_id, client_secret, username, login_url
    )
