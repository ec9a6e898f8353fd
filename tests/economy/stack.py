"""Helpers for tests that run the real stack: worker settings and the sfgw CLI."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path


def worker_env(secret_key: str, sf_url: str, erp_url: str, **extra: str) -> dict[str, str]:
    """What ``sfgw worker`` and ``sfgw reconcile`` need against the mocks (Redis comes
    from the launcher)."""
    return {
        "SFGW_SECRET_KEY": secret_key,
        "SFGW_SF_LOGIN_URL": sf_url,
        "SFGW_SF_CLIENT_ID": "sfgw-client",
        "SFGW_SF_CLIENT_SECRET": "sfgw-secret",
        "SFGW_ERP_URL": erp_url,
        "SFGW_RETRY_MIN_BACKOFF_MS": "100",
        "SFGW_RETRY_MAX_BACKOFF_MS": "1000",
        "SFGW_RETRY_LIMIT_BACKOFF_MS": "1000",
        "SFGW_RECONCILE_MIN_AGE_S": "0",
        **extra,
    }


def run_sfgw(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


class HoldProxy:
    """A loopback TCP proxy that can hold new connections (never forwarding them), so a
    Salesforce call is reliably in flight when a test kills its worker."""

    def __init__(self) -> None:
        import socket
        import threading

        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.target_port = 0
        self.hold = threading.Event()
        self.held: list[socket.socket] = []
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import socket
        import threading

        while not self._closed:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            if self.hold.is_set():
                self.held.append(conn)
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: object, dst: object) -> None:
        import socket

        assert isinstance(src, socket.socket) and isinstance(dst, socket.socket)
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def release(self) -> None:
        """Stop holding; connections held so far are closed unanswered."""
        self.hold.clear()
        for conn in self.held:
            conn.close()
        self.held.clear()

    def close(self) -> None:
        self._closed = True
        self.release()
        self._socket.close()
