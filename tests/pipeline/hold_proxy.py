"""A TCP proxy that can hold connections: a request through it stays in flight, from the
caller's side, until the test releases it.

Put in front of the mock org's instance URL (``SFGW_MOCKSF_BASE_URL``, which the token
response hands to the workers), it keeps a worker's Salesforce call in flight for as long
as a test needs -- to kill the worker mid-call -- and counts the calls that arrived.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType


class HoldProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._released = threading.Event()
        self._released.set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._accepted = 0
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="hold-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def accepted(self) -> int:
        """Connections that reached the proxy so far (held or not)."""
        with self._lock:
            return self._accepted

    def hold(self) -> None:
        """From now on, connections wait at the proxy until :meth:`release`."""
        self._released.clear()

    def release(self) -> None:
        """Forward every held connection, and the ones that come later."""
        self._released.set()

    def close(self) -> None:
        self._closed.set()
        self._released.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> HoldProxy:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._accepted += 1
                self._sockets.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._released.wait()
        if self._closed.is_set():
            return
        try:
            upstream = socket.create_connection(self._target, timeout=30)
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.append(upstream)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Copy ``source`` to ``sink`` until ``source`` ends, then end ``sink``'s writes."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
