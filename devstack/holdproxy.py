"""A loopback TCP proxy that can hold new connections, so a call is reliably in flight.

A test that kills a worker "while its Salesforce call is in flight" needs the call to
stay in flight until the kill: put this proxy in front of the org's instance URL (what
its token responses name, so API calls pass through it and token requests do not), call
:meth:`HoldProxy.hold`, wait until a connection is held, kill. Held connections are
never forwarded; :meth:`release` closes them unanswered, as a network that dropped them.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class HoldProxy:
    """Forwards loopback connections to ``target_port``, or holds them while asked to."""

    def __init__(self, target_port: int = 0) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.target_port = target_port
        self._holding = threading.Event()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="hold-proxy", daemon=True)
        self._thread.start()

    @property
    def held(self) -> int:
        """Connections held (not forwarded) so far."""
        with self._lock:
            return len(self._held)

    def hold(self) -> None:
        """From now on, hold every new connection instead of forwarding it."""
        self._holding.set()

    def wait_held(self, count: int = 1, timeout: float = 60.0) -> bool:
        """Wait until ``count`` connections are held; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.held < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def release(self) -> None:
        """Forward again; the connections held so far are closed unanswered."""
        self._holding.clear()
        with self._lock:
            held, self._held = self._held, []
        for conn in held:
            conn.close()

    def close(self) -> None:
        self._closed = True
        self.release()
        self._socket.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            if self._holding.is_set():
                with self._lock:
                    self._held.append(conn)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                conn.close()  # the target is down: the caller sees a reset, as without us
                continue
            for src, dst in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(src, dst), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for end in (src, dst):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
