"""The ERP client: zeep, built once per process from the local contract.

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

import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from gateway.config import Env, env_float, env_int, env_url
from gateway.erp_http import REDIRECTS, direct_post_for
from gateway.http_session import pooled_session
from gateway.namespaces import ERP_ORDERS
from gateway.settings import CoreSettings

BINDING = f"{{{ERP_ORDERS}}}OrderBinding"
_ORDER_NUMBER = re.compile(r"SO-[0-9]{6,}")


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
    def from_env(cls, env: Env | None = None) -> ErpSettings:
        env = os.environ if env is None else env
        url = env_url(
            env, "SFGW_ERP_URL", "http://127.0.0.1:8300/erp/orders", schemes=("http", "https")
        )
        assert url is not None  # noqa: S101 - a default is given
        return cls(
            url=url,
            connect_timeout_s=env_float(
                env, "SFGW_ERP_CONNECT_TIMEOUT_S", 5.0, minimum=0.01, maximum=300
            ),
            read_timeout_s=env_float(
                env, "SFGW_ERP_READ_TIMEOUT_S", 30.0, minimum=0.01, maximum=3600
            ),
            pool_size=env_int(env, "SFGW_ERP_POOL_SIZE", 10, minimum=1, maximum=1000),
            contract_path=CoreSettings.from_env(env).contracts_dir / "erp" / "erp_orders.wsdl",
        )


@dataclass(frozen=True)
class OrderRequest:
    external_reference: str
    customer_reference: str | None = None
    title: str | None = None
    amount: Decimal | None = None
    currency_code: str | None = None
    close_date: date | None = None


@dataclass(frozen=True)
class OrderResult:
    order_number: str
    status: str
    created: bool
    external_reference: str


def _build_transport(settings: ErpSettings) -> Any:
    import zeep

    transport_base: Any = zeep.Transport

    class _StatusRecordingTransport(transport_base):  # type: ignore[misc]
        """Remembers each thread's last HTTP status (zeep's Fault does not carry it) and
        posts to the ERP through :class:`gateway.erp_http.DirectPost` when it can."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.last = threading.local()
            self.direct = direct_post_for(
                settings.url,
                self.session,
                pool_size=settings.pool_size,
                connect_timeout_s=settings.connect_timeout_s,
                read_timeout_s=settings.read_timeout_s,
            )

        def post(self, address: str, message: Any, headers: Any) -> Any:
            self.last.status = None
            response = None
            direct = self.direct
            # zeep's DEBUG log of every exchange lives in its own post: keep it there
            if (
                direct is not None
                and address == direct.url
                and not self.logger.isEnabledFor(logging.DEBUG)
            ):
                response = direct.post(message, headers)
                if response.status_code in REDIRECTS:
                    response = None  # the session follows redirects
            if response is None:
                response = super().post(address, message, headers)
            self.last.status = response.status_code
            return response

    session = pooled_session(pool_connections=2, pool_size=settings.pool_size)
    return _StatusRecordingTransport(
        session=session,
        timeout=settings.connect_timeout_s,
        operation_timeout=(settings.connect_timeout_s, settings.read_timeout_s),
    )


class ErpClient:
    """Thread-safe; build one per process (loading the WSDL costs tens of milliseconds)."""

    def __init__(self, settings: ErpSettings) -> None:
        import zeep

        zeep_any: Any = zeep  # zeep ships no complete type hints
        self.settings = settings
        self._transport = _build_transport(settings)
        zeep_settings = zeep_any.Settings(
            strict=True,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
            xml_huge_tree=False,
        )
        self._client = zeep_any.Client(
            str(settings.contract_path), transport=self._transport, settings=zeep_settings
        )
        self._service: Any = self._client.create_service(BINDING, settings.url)

    def close(self) -> None:
        if self._transport.direct is not None:
            self._transport.direct.close()
        self._transport.session.close()

    # -- operations --------------------------------------------------------------------
    def create_order(self, req: OrderRequest) -> OrderResult:
        args: dict[str, Any] = {"ExternalReference": req.external_reference}
        for key, value in (
            ("CustomerReference", req.customer_reference),
            ("Title", req.title),
            ("Amount", req.amount),
            ("CurrencyCode", req.currency_code),
            ("CloseDate", req.close_date),
        ):
            if value is not None:
                args[key] = value
        response = self._call("CreateOrder", args)
        return self._result(response, created_field=True, expected_reference=req.external_reference)

    def get_order(
        self, order_number: str | None = None, external_reference: str | None = None
    ) -> OrderResult | None:
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
        return self._result(order, created_field=False, expected_reference=external_reference)

    # -- plumbing ----------------------------------------------------------------------
    def _call(self, operation: str, args: dict[str, Any]) -> Any:
        import zeep.exceptions

        try:
            return getattr(self._service, operation)(**args)
        except requests.exceptions.ConnectTimeout:
            raise ErpRetryableError(
                f"ERP {operation}: connecting to {self.settings.url} timed out after "
                f"{self.settings.connect_timeout_s:g}s"
            ) from None
        except requests.exceptions.ReadTimeout:
            raise ErpRetryableError(
                f"ERP {operation}: no response within {self.settings.read_timeout_s:g}s "
                "(the order may have been created; retrying is safe)"
            ) from None
        except requests.exceptions.ConnectionError as error:
            raise ErpRetryableError(
                f"ERP {operation}: {_describe_connection_error(error)} ({self.settings.url})"
            ) from None
        except requests.exceptions.RequestException as error:
            raise ErpRetryableError(f"ERP {operation}: HTTP error {type(error).__name__}") from None
        except zeep.exceptions.Fault as fault:
            raise self._map_fault(operation, fault) from None
        except zeep.exceptions.TransportError as error:
            status = error.status_code or 0
            if status >= 500 or status in (408, 429):
                raise ErpRetryableError(
                    f"ERP {operation}: HTTP {status} without a SOAP answer"
                ) from None
            raise ErpPermanentError(
                f"ERP {operation}: HTTP {status}; the response is not SOAP from the contract"
            ) from None
        except (zeep.exceptions.Error, etree.LxmlError, ValueError, TypeError) as error:
            raise ErpPermanentError(
                f"ERP {operation}: the response does not match the contract "
                f"({type(error).__name__}: {str(error)[:160]})"
            ) from None

    def _map_fault(self, operation: str, fault: Any) -> Exception:
        status = getattr(self._transport.last, "status", None)
        detail = fault.detail
        declared = None
        if isinstance(detail, etree._Element):  # a non-SOAP body gives a string here
            for child in detail:
                if isinstance(child.tag, str) and etree.QName(child).namespace == ERP_ORDERS:
                    declared = child
                    break

        def text(name: str) -> str | None:
            if declared is None:
                return None
            node = declared.find(f"{{{ERP_ORDERS}}}{name}")
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
                return ErpRetryableError(
                    f"ERP unavailable for {operation}: {text('Message')}{hint}"
                )
            if kind == "OrderNotFoundFault":
                return _NotFound(text("Message") or "not found")
        code = (fault.code or "").rsplit(":", 1)[-1]
        where = f"HTTP {status}" if status else "a SOAP fault"
        message = f"ERP {operation} failed with {where}: {fault.message}"
        if status is not None and 400 <= status < 500:
            return ErpPermanentError(message)
        if code == "Client":
            return ErpPermanentError(message)
        return ErpRetryableError(message)

    @staticmethod
    def _result(
        response: Any, *, created_field: bool, expected_reference: str | None
    ) -> OrderResult:
        fields = ["OrderNumber", "ExternalReference", "Status"]
        if created_field:
            fields.append("Created")
        values = [getattr(response, name, None) for name in fields]
        missing = [name for name, value in zip(fields, values, strict=True) if value is None]
        if missing:
            raise ErpPermanentError(
                f"ERP response does not match the contract: no {', '.join(missing)}"
            )
        number, reference, status = (str(value) for value in values[:3])
        created = bool(values[3]) if created_field else False
        if not _ORDER_NUMBER.fullmatch(number):
            raise ErpPermanentError(f"ERP answered with a malformed order number {number[:40]!r}")
        if expected_reference is not None and reference != expected_reference:
            raise ErpPermanentError(
                f"ERP answered for reference {reference[:40]!r}, not {expected_reference!r}"
            )
        return OrderResult(
            order_number=number, status=status, created=created, external_reference=reference
        )


class _NotFound(Exception):
    pass


def _describe_connection_error(error: requests.exceptions.ConnectionError) -> str:
    text = str(error)
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused (the ERP is down or not listening)"
    if "RemoteDisconnected" in text or "without response" in text:
        return (
            "the ERP closed the connection without a response "
            "(the order may exist; retrying is safe)"
        )
    if "reset" in text.lower():
        return "the connection was reset (the order may exist; retrying is safe)"
    return f"connection failed ({type(error).__name__})"
