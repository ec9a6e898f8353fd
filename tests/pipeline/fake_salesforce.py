"""A small real HTTP server answering like Salesforce, for the pipeline's own tests.

Only what these tests need before the project's mock Salesforce (``mock_salesforce``)
lands: the OAuth token endpoint, REST PATCH/GET of an Opportunity, sObject Collections
and the Partner SOAP ``update``/``retrieve``, with the documented error shapes. The
end-to-end tests use the real mock instead.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lxml import etree

from gateway.namespaces import PARTNER, PARTNER_SOBJECT, SOAP11_ENVELOPE

ORG_ID = "00D000000000001AAA"


@dataclass
class FakeOrg:
    """The org's state; tests read and script it directly."""

    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: record id -> error codes returned (one per update attempt) before it succeeds
    record_errors: dict[str, list[str]] = field(default_factory=dict)
    #: error codes for whole calls, consumed one per call (e.g. "REQUEST_LIMIT_EXCEEDED")
    call_errors: list[str] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)
    token_requests: int = 0
    token_forms: list[dict[str, str]] = field(default_factory=list)
    api_calls: int = 0
    seen_authorization: list[str] = field(default_factory=list)
    instance_url: str = ""
    token_error: tuple[int, str] | None = None
    read_delay_s: float = 0.0
    reads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def issue_token(self) -> str:
        self.token_requests += 1
        token = f"{ORG_ID[:15]}!AQ0tokenvalue{self.token_requests:04d}xxxxxxxxxxxxxxxx"
        self.valid_tokens.add(token)
        return token

    def expire_all_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def update(self, record_id: str, values: dict[str, Any]) -> tuple[bool, str, str]:
        errors = self.record_errors.get(record_id)
        if errors:
            code = errors.pop(0)
            return False, code, f"{code} for {record_id}"
        if record_id not in self.records:
            return False, "ENTITY_IS_DELETED", "entity is deleted"
        self.records[record_id].update(values)
        return True, "", ""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    # -- helpers
    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        org = self.server.org
        self.send_header("Sforce-Limit-Info", f"api-usage={org.api_calls}/15000")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode())

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length)

    def _rest_auth(self) -> bool:
        org = self.server.org
        auth = self.headers.get("Authorization", "")
        org.seen_authorization.append(auth)
        org.api_calls += 1
        if not auth.startswith("Bearer ") or auth[7:] not in org.valid_tokens:
            self._json(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
            return False
        if org.call_errors:
            code = org.call_errors.pop(0)
            status = 403 if code == "REQUEST_LIMIT_EXCEEDED" else 503
            self._json(status, [{"message": f"{code}", "errorCode": code}])
            return False
        return True

    # -- routes
    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        org = self.server.org
        body = self._body()
        with org.lock:
            if path == "/services/oauth2/token":
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                org.token_forms.append(form)
                if org.token_error is not None:
                    status, code = org.token_error
                    org.token_requests += 1
                    self._json(status, {"error": code, "error_description": "refused"})
                    return
                token = org.issue_token()
                self._json(
                    200,
                    {
                        "access_token": token,
                        "instance_url": org.instance_url,
                        "id": f"https://login.example/id/{ORG_ID}/005000000000001AAA",
                        "token_type": "Bearer",
                        "issued_at": "1700000000000",
                    },
                )
                return
            if path.startswith("/services/Soap/u/62.0/"):
                self._soap(body)
                return
        self._json(404, [{"errorCode": "NOT_FOUND", "message": path}])

    def do_PATCH(self) -> None:
        path = urlsplit(self.path).path
        org = self.server.org
        body = json.loads(self._body() or b"{}")
        with org.lock:
            if not self._rest_auth():
                return
            if path == "/services/data/v62.0/composite/sobjects":
                results = []
                for record in body["records"]:
                    rid = record["id"]
                    values = {k: v for k, v in record.items() if k not in ("id", "attributes")}
                    ok, code, message = org.update(rid, values)
                    if ok:
                        results.append({"id": rid, "success": True, "errors": []})
                    else:
                        results.append(
                            {
                                "success": False,
                                "errors": [{"statusCode": code, "message": message, "fields": []}],
                            }
                        )
                self._json(200, results)
                return
            prefix = "/services/data/v62.0/sobjects/Opportunity/"
            if path.startswith(prefix):
                ok, code, message = org.update(path[len(prefix) :], body)
                if ok:
                    self._send(204)
                else:
                    status = 404 if code == "ENTITY_IS_DELETED" else 400
                    self._json(status, [{"errorCode": code, "message": message, "fields": []}])
                return
        self._json(404, [{"errorCode": "NOT_FOUND", "message": path}])

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        org = self.server.org
        org.reads += 1
        if org.read_delay_s:
            time.sleep(org.read_delay_s)
        with org.lock:
            if not self._rest_auth():
                return
            prefix = "/services/data/v62.0/sobjects/Opportunity/"
            if parts.path.startswith(prefix):
                rid = parts.path[len(prefix) :]
                record = org.records.get(rid)
                if record is None:
                    self._json(404, [{"errorCode": "NOT_FOUND", "message": "not found"}])
                    return
                wanted = parse_qs(parts.query).get("fields", [""])[0].split(",")
                data = {"attributes": {"type": "Opportunity"}}
                data.update({k: record.get(k) for k in wanted if k})
                self._json(200, data)
                return
        self._json(404, [{"errorCode": "NOT_FOUND", "message": parts.path}])

    def _soap(self, body: bytes) -> None:
        org = self.server.org
        root = etree.fromstring(body)
        session = root.findtext(f".//{{{PARTNER}}}sessionId")
        org.api_calls += 1
        if session not in org.valid_tokens:
            self._fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader")
            return
        if org.call_errors:
            code = org.call_errors.pop(0)
            self._fault(code, code)
            return
        payload = root.find(f"{{{SOAP11_ENVELOPE}}}Body")[0]
        name = etree.QName(payload).localname
        out = [
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}" xmlns="{PARTNER}" '
            f'xmlns:sf="{PARTNER_SOBJECT}"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<soapenv:Header><LimitInfoHeader><limitInfo><current>{org.api_calls}</current>"
            "<limit>15000</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader>"
            "</soapenv:Header><soapenv:Body>"
        ]
        if name == "update":
            out.append("<updateResponse>")
            for sobj in payload.findall(f"{{{PARTNER}}}sObjects"):
                rid = sobj.findtext(f"{{{PARTNER_SOBJECT}}}Id")
                values = {
                    etree.QName(el).localname: el.text
                    for el in sobj
                    if etree.QName(el).localname not in ("type", "Id", "fieldsToNull")
                }
                ok, code, message = org.update(rid, values)
                if ok:
                    out.append(f"<result><id>{rid}</id><success>true</success></result>")
                else:
                    out.append(
                        f"<result><errors><message>{message}</message>"
                        f"<statusCode>{code}</statusCode></errors>"
                        '<id xsi:nil="true"/><success>false</success></result>'
                    )
            out.append("</updateResponse>")
        else:  # retrieve
            fields = payload.findtext(f"{{{PARTNER}}}fieldList").split(",")
            out.append("<retrieveResponse>")
            for rid in [e.text for e in payload.findall(f"{{{PARTNER}}}ids")]:
                record = org.records.get(rid)
                if record is None:
                    out.append('<result xsi:nil="true"/>')
                    continue
                out.append("<result><sf:type>Opportunity</sf:type>")
                out.append(f"<sf:Id>{rid}</sf:Id>")
                for f in fields:
                    if f == "Id":
                        continue
                    value = record.get(f)
                    if value is None:
                        out.append(f'<sf:{f} xsi:nil="true"/>')
                    else:
                        text = str(value).lower() if isinstance(value, bool) else str(value)
                        out.append(f"<sf:{f}>{text}</sf:{f}>")
                out.append("</result>")
            out.append("</retrieveResponse>")
        out.append("</soapenv:Body></soapenv:Envelope>")
        self._send(200, "".join(out).encode(), "text/xml; charset=utf-8")

    def _fault(self, code: str, message: str) -> None:
        body = (
            f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}"'
            ' xmlns:sf="urn:fault.partner.soap.sforce.com"'
            ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
            f"<faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>"
            '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f"<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{message}"
            "</sf:exceptionMessage></sf:UnexpectedErrorFault></detail></soapenv:Fault>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        self._send(500, body.encode(), "text/xml; charset=utf-8")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that was killed mid-request (crash tests) is not our error

    def __init__(self, org: FakeOrg) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.org = org


class FakeSalesforce:
    def __init__(self) -> None:
        self.org = FakeOrg()
        self._server = _Server(self.org)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.org.instance_url = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSalesforce:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def running() -> Iterator[FakeSalesforce]:
    with FakeSalesforce() as server:
        yield server
