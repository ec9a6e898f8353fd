"""Round robin in front of the gateways, as a load balancer puts it in front of them:
``python -m tests.hosts.roundrobin LISTEN_HOST:PORT LOG_FILE UPSTREAM_URL...``.

The mock org delivers to one URL; this sends each request to the next gateway in turn
(per request, not per connection), so a retry after a failed attempt goes to the other
gateway, and it logs every attempt as a JSON line: when, which gateway, the HTTP status,
whether Salesforce would count it as acked, and a digest of the body, so a test can follow
one message from a failed attempt on one gateway to its ack on the other (by its first
notification id: the org renders a message again for each attempt, so the bytes differ).
A gateway that does not answer gets a 502 back to the org (what a load balancer answers).
"""

from __future__ import annotations

import http.client
import itertools
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0


_NOTIFICATION_ID = re.compile(rb"<(?:\w+:)?Notification>\s*<(?:\w+:)?Id>([^<]+)<")


def _first_notification(body: bytes) -> str:
    found = _NOTIFICATION_ID.search(body)
    return found.group(1).decode() if found else ""


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstreams: itertools.cycle[tuple[str, int]]
    turn = threading.Lock()
    log_lock = threading.Lock()
    log_file: IO[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.turn:
            host, port = next(self.upstreams)
        started = time.time()
        status, content_type, data = self._forward(host, port, body)
        entry = {
            "at": started,
            "took": round(time.time() - started, 3),
            "upstream": host,
            "status": status,
            "acked": status == 200 and b"<Ack>true</Ack>" in data,
            "message": _first_notification(body),
        }
        with self.log_lock:
            self.log_file.write(json.dumps(entry) + "\n")
            self.log_file.flush()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _forward(self, host: str, port: int, body: bytes) -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT_S)
        try:
            connection.connect()
            assert connection.sock is not None
            connection.sock.settimeout(READ_TIMEOUT_S)
            headers = {
                "Content-Type": self.headers.get("Content-Type", "text/xml"),
                "SOAPAction": self.headers.get("SOAPAction", '""'),
            }
            connection.request("POST", self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return response.status, response.getheader("Content-Type") or "text/xml", data
        except OSError as error:
            return 502, "text/plain", f"upstream {host}:{port}: {error}".encode()
        finally:
            connection.close()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the JSON log says what happened."""


def main(argv: list[str]) -> None:
    listen, log_path, *upstreams = argv
    host, _, port = listen.rpartition(":")
    parsed = [urlsplit(url) for url in upstreams]
    _Proxy.upstreams = itertools.cycle([(u.hostname or "", u.port or 80) for u in parsed])
    _Proxy.log_file = open(log_path, "a")  # noqa: SIM115 - open for the process's life
    server = ThreadingHTTPServer((host, int(port)), _Proxy)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
