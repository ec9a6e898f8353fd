"""Start the mock ERP as a real child process (for tests of other areas, the demo, benches)."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.processes import ChildProcess, free_port, wait_for_http


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
        with urllib.request.urlopen(self.admin_url, timeout=30) as response:  # noqa: S310
            result: dict[str, Any] = json.loads(response.read())
        return result

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
