"""``sfgw erp serve``: run gunicorn, and take it down for real during a down window.

Why a supervisor: "the ERP is down" must look like it does in production -- the client's
connect fails with ECONNREFUSED -- and no worker can produce that from inside a request.
So ``sfgw erp serve`` is a small loop around a gunicorn child: it polls the fault settings
in the store, stops gunicorn (its listening socket closes with it) while ``down_until``
lies in the future, and starts it again on the same address afterwards. Since the store is
a SQLite file, the restart also shows that nothing is lost across one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from mock_erp.counters import Counters
from mock_erp.faults import SETTING_NAME, FaultConfig, FaultConfigError, is_down, loads_faults
from mock_erp.store import OrderStore

POLL_S = 0.1
#: Injected delays are capped below this (see faults.MAX_DELAY_S).
WORKER_TIMEOUT_S = 120


@dataclass
class ServeOptions:
    bind: str
    db_path: Path
    workers: int = 3
    faults: FaultConfig = field(default_factory=FaultConfig)
    log_level: str = "warning"


def gunicorn_argv(options: ServeOptions) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        options.bind,
        "--workers",
        str(options.workers),
        "--worker-class",
        "sync",
        "--timeout",
        str(WORKER_TIMEOUT_S),
        "--graceful-timeout",
        "3",
        "--backlog",
        "2048",
        "--log-level",
        options.log_level,
        "--error-logfile",
        "-",
        "mock_erp.app:create_app_from_env()",
    ]


class Supervisor:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.store = OrderStore(options.db_path).initialise()
        self.counters = Counters(options.db_path)
        self.child: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def _faults(self) -> FaultConfig:
        text = self.store.get_setting(SETTING_NAME) or "{}"
        try:
            return loads_faults(text, now=time.time())
        except FaultConfigError:
            return FaultConfig()

    def _start(self) -> None:
        env = dict(os.environ, SFGW_ERP_DB=str(self.options.db_path))
        self.child = subprocess.Popen(gunicorn_argv(self.options), env=env)
        _log(f"gunicorn started (pid {self.child.pid}) on {self.options.bind}")

    def _stop(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)
        _log("gunicorn stopped")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        self.store.put_setting(SETTING_NAME, self.options.faults.dumps())
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        failures = 0
        try:
            while not self.stopping:
                faults = self._faults()
                if is_down(faults, time.time()):
                    if self.child is not None:
                        self.counters.bump(["down_windows"])
                        _log(f"down window: refusing connections until {faults.down_until:.1f}")
                        self._stop()
                elif self.child is None:
                    self._start()
                elif self.child.poll() is not None:
                    failures += 1
                    _log(f"gunicorn exited with {self.child.returncode}")
                    self.child = None
                    if failures >= 5:
                        _log("gunicorn keeps failing; giving up")
                        return 1
                    time.sleep(1)
                time.sleep(POLL_S)
        finally:
            self._stop()
        return 0


def _log(message: str) -> None:
    print(f"[mock-erp supervisor] {message}", file=sys.stderr, flush=True)
