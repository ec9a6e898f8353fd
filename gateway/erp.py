"""The ERP client: zeep builds and reads the SOAP messages, urllib3 carries them.

zeep, loaded once per process from the local contract (``contracts/erp``), turns an
:class:`~gateway.orders.OrderRequest` into the ``CreateOrder`` envelope and the answer
back into Python values, faults included. The POST itself goes over a urllib3 pool for
the ERP's URL (:func:`gateway.http.urllib3_pool`): one order is one call, and
``requests``' per-call bookkeeping cost about as much CPU as the call.

Every failure becomes one of two exceptions, so the order pipeline only decides "try
again later" or "park it with the reason":

=====================================================  ==========  =========================
what happened                                          class       why
=====================================================  ==========  =========================
connect/read timeout, connection refused/reset/closed  retryable   the ERP may be fine soon;
                                                                   CreateOrder is idempotent
HTTP 5xx without a declared fault, SOAP Server fault   retryable   server-side trouble
declared ``UnavailableFault``                          retryable   the contract says so
declared ``ValidationFault``                           permanent   will never succeed as sent
SOAP Client fault without declared detail, HTTP 4xx    permanent   the request is wrong
malformed or unexpected response (not the contract)    permanent   needs a person; a replay
                                                                   is safe (idempotent)
=====================================================  ==========  =========================

``GetOrder``'s declared ``OrderNotFoundFault`` is not an error: ``get_order`` returns None.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from lxml import etree
from urllib3 import exceptions as u3

from gateway.config import Env, env_float, env_int, env_url
from gateway.http import ProxySettings, requests_session, urllib3_pool
from gateway.namespaces import ERP_ORDERS, SOAP11_ENVELOPE
from gateway.orders import OrderRequest, PlacedOrder

BINDING = f"{{{ERP_ORDERS}}}OrderBinding"
_ORDER_NUMBER = re.compile(r"SO-[0-9]{6,}")
_SOAP_FAULT = f"{{{SOAP11_ENVELOPE}}}Body/{{{SOAP11_ENVELOPE}}}Fault"


class ErpError(Exception):
    """A call to the ERP failed; ``reason`` is a sentence a person can read."""

    retryable: bool = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ErpRetryableError(ErpError):
    """Try again later: the ERP was slow, down or said it is unavailable."""

    retryable = True


class ErpPermanentError(ErpError):
    """Retrying the same request cannot succeed; park it with the reason."""

    retryable = False


@dataclass(frozen=True)
class ErpSettings:
    url: str
    connect_timeout_s: float
    read_timeout_s: float
    pool_size: int
    contract_path: Path

    @classmethod
    def from_env(cls, env: Env | None, *, contracts_dir: Path) -> ErpSettings:
        env = os.environ if env is None else env
        url = env_url(
            env, "SFGW_ERP_URL", "http://127.0.0.1:8300/erp/orders", schemes=("http", "https")
        )
        return cls(
            url=url or "http://127.0.0.1:8300/erp/orders",
            connect_timeout_s=env_float(
                env, "SFGW_ERP_CONNECT_TIMEOUT_S", 5.0, minimum=0.01, maximum=300
            ),
            read_timeout_s=env_float(
                env, "SFGW_ERP_READ_TIMEOUT_S", 30.0, minimum=0.01, maximum=3600
            ),
            pool_size=env_int(env, "SFGW_ERP_POOL_SIZE", 10, minimum=1, maximum=1000),
            contract_path=contracts_dir / "erp" / "erp_orders.wsdl",
        )


class ErpClient:
    """Thread-safe; build one per process (loading the WSDL costs tens of milliseconds)."""

    def __init__(self, settings: ErpSettings, proxies: ProxySettings | None = None) -> None:
        import zeep

        zeep_any: Any = zeep  # zeep ships no complete type hints
        proxies = proxies or ProxySettings()
        self.settings = settings
        self._client = zeep_any.Client(
            str(settings.contract_path),
            # only the (local) WSDL is loaded through zeep's transport
            transport=zeep_any.Transport(session=requests_session(proxies, pool_size=1)),
            settings=zeep_any.Settings(
                strict=True,
                forbid_dtd=True,
                forbid_entities=True,
                forbid_external=True,
                xml_huge_tree=False,
            ),
        )
        self._service: Any = self._client.create_service(BINDING, settings.url)
        self._binding: Any = self._client.wsdl.bindings[BINDING]
        self._pool = urllib3_pool(
            settings.url,
            proxies,
            pool_size=settings.pool_size,
            headers={"User-Agent": "sfgw", "Accept-Encoding": "gzip, deflate"},
        )
        self._timeout = urllib3.Timeout(
            connect=settings.connect_timeout_s, read=settings.read_timeout_s
        )
        # one redirect chain of up to 3 hops is followed (CreateOrder is idempotent);
        # nothing else is retried here: that is the pipeline's job
        self._retries = urllib3.Retry(total=None, connect=0, read=0, other=0, status=0,
                                      redirect=3)  # fmt: skip

    def close(self) -> None:
        self._pool.clear()

    # -- operations --------------------------------------------------------------------
    def create_order(self, request: OrderRequest) -> PlacedOrder:
        args: dict[str, Any] = {"ExternalReference": request.external_reference}
        for key, value in (
            ("CustomerReference", request.customer_reference),
            ("Title", request.title),
            ("Amount", request.amount),
            ("CurrencyCode", request.currency_code),
            ("CloseDate", request.close_date),
        ):
            if value is not None:
                args[key] = value
        response = self._call("CreateOrder", args)
        return _placed(response, created_field=True, reference=request.external_reference)

    def get_order(
        self, order_number: str | None = None, external_reference: str | None = None
    ) -> PlacedOrder | None:
        if (order_number is None) == (external_reference is None):
            raise ValueError("give exactly one of order_number or external_reference")
        args = (
            {"OrderNumber": order_number}
            if order_number is not None
            else {"ExternalReference": external_reference}
        )
        try:
            order = self._call("GetOrder", args)
        except _NotFound:
            return None
        return _placed(order, created_field=False, reference=external_reference)

    # -- plumbing ----------------------------------------------------------------------
    def _call(self, operation: str, args: dict[str, Any]) -> Any:
        envelope = self._client.create_message(self._service, operation, **args)
        action = self._binding.get(operation).soapaction or ""
        try:
            reply = self._pool.urlopen(
                "POST",
                self.settings.url,
                body=etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'},
                timeout=self._timeout,
                retries=self._retries,
                preload_content=True,
            )
        except u3.HTTPError as error:
            raise ErpRetryableError(f"ERP {operation}: {self._unreachable(error)}") from None
        return self._read(operation, reply.status, reply.data)

    def _unreachable(self, error: u3.HTTPError) -> str:
        reason: Exception = error
        if isinstance(error, u3.MaxRetryError) and error.reason is not None:
            reason = error.reason
        text = str(reason)
        if isinstance(reason, u3.ConnectTimeoutError) and not isinstance(
            reason, u3.NewConnectionError
        ):
            return (
                f"connecting to {self.settings.url} timed out after "
                f"{self.settings.connect_timeout_s:g}s"
            )
        if isinstance(reason, u3.ReadTimeoutError):
            return (
                f"no response within {self.settings.read_timeout_s:g}s "
                "(the order may have been created; retrying is safe)"
            )
        if "refused" in text.lower() or "Errno 111" in text:
            return f"connection refused (the ERP is down or not listening) ({self.settings.url})"
        if "RemoteDisconnected" in text or "without response" in text:
            return (
                "the ERP closed the connection without a response "
                f"(the order may exist; retrying is safe) ({self.settings.url})"
            )
        if "reset" in text.lower():
            return (
                "the connection was reset (the order may exist; retrying is safe) "
                f"({self.settings.url})"
            )
        return f"connection failed ({type(reason).__name__}) ({self.settings.url})"

    def _read(self, operation: str, status: int, data: bytes) -> Any:
        """The answer's body as zeep's result, or the error it means (module doc)."""
        import zeep.exceptions
        from zeep import loader

        parse_xml: Any = loader.parse_xml  # annotated for str; it takes the bytes as sent

        retryable = status >= 500 or status in (408, 429)
        not_soap = (
            ErpRetryableError(f"ERP {operation}: HTTP {status} without a SOAP answer")
            if retryable
            else ErpPermanentError(
                f"ERP {operation}: HTTP {status}; the response is not SOAP from the contract"
            )
        )
        if not data:
            raise not_soap
        try:
            document = parse_xml(data, self._client.transport, settings=self._client.settings)
        except (etree.LxmlError, ValueError, zeep.exceptions.Error):
            raise not_soap from None
        operation_obj = self._binding.get(operation)
        if status != 200 or document.find(_SOAP_FAULT) is not None:
            if document.find(_SOAP_FAULT) is None:
                raise not_soap
            try:
                self._binding.process_error(document, operation_obj)
            except zeep.exceptions.Fault as fault:
                raise _fault_error(operation, fault, status) from None
        try:
            return operation_obj.process_reply(document)
        except (zeep.exceptions.Error, etree.LxmlError, ValueError, TypeError) as error:
            raise ErpPermanentError(
                f"ERP {operation}: the response does not match the contract "
                f"({type(error).__name__}: {str(error)[:160]})"
            ) from None


def _fault_error(operation: str, fault: Any, status: int) -> Exception:
    detail = fault.detail
    declared = None
    if isinstance(detail, etree._Element):
        declared = next(
            (
                c
                for c in detail
                if isinstance(c.tag, str) and etree.QName(c).namespace == ERP_ORDERS
            ),
            None,
        )

    def text(name: str) -> str | None:
        node = None if declared is None else declared.find(f"{{{ERP_ORDERS}}}{name}")
        return None if node is None else (node.text or "")

    if declared is not None:
        kind = etree.QName(declared).localname
        if kind == "ValidationFault":
            field = text("Field")
            where = f" (field {field})" if field else ""
            return ErpPermanentError(
                f"ERP rejected {operation}: {text('Code')}: {text('Message')}{where}"
            )
        if kind == "UnavailableFault":
            after = text("RetryAfterSeconds")
            hint = f"; retry after {after}s" if after else ""
            return ErpRetryableError(f"ERP unavailable for {operation}: {text('Message')}{hint}")
        if kind == "OrderNotFoundFault":
            return _NotFound(text("Message") or "not found")
    code = (fault.code or "").rsplit(":", 1)[-1]
    message = f"ERP {operation} failed with HTTP {status}: {fault.message}"
    if 400 <= status < 500 or code == "Client":
        return ErpPermanentError(message)
    return ErpRetryableError(message)


def _placed(response: Any, *, created_field: bool, reference: str | None) -> PlacedOrder:
    names = ["OrderNumber", "ExternalReference", "Status"] + (["Created"] if created_field else [])
    values = [getattr(response, name, None) for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if value is None]
    if missing:
        raise ErpPermanentError(
            f"ERP response does not match the contract: no {', '.join(missing)}"
        )
    number, external, status = (str(value) for value in values[:3])
    if not _ORDER_NUMBER.fullmatch(number):
        raise ErpPermanentError(f"ERP answered with a malformed order number {number[:40]!r}")
    if reference is not None and external != reference:
        raise ErpPermanentError(f"ERP answered for reference {external[:40]!r}, not {reference!r}")
    created = bool(values[3]) if created_field else False
    return PlacedOrder(
        order_number=number, status=status, created=created, external_reference=external
    )


class _NotFound(Exception):
    pass
