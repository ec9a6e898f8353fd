"""SOAP 1.1 envelopes: hardened parsing and fault rendering.

Shared by the intake gateway, the mock ERP and the mock Salesforce, so that every server
in the project reads XML the same safe way and answers errors in the same shape.

Why not let xsdata parse the whole body: its lxml handler parses in recover mode (broken
XML comes back as silently wrong objects) and generated envelope classes have no Header
field. So we parse with a locked-down lxml parser, refuse any DOCTYPE, and hand only the
first child of ``soapenv:Body`` to xsdata.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from gateway.namespaces import SOAP11_ENVELOPE, SOAP12_ENVELOPE

XML_CONTENT_TYPE = "text/xml; charset=utf-8"


class SoapParseError(ValueError):
    """The body is not a SOAP 1.1 envelope we accept.

    ``str(error)`` is safe to send back to the caller as a ``faultstring``: it names the
    problem without echoing input or internal detail.
    """


_local = threading.local()


def hardened_parser() -> etree.XMLParser:
    """This thread's XML parser: no DTD, no entity expansion, no network, no recovery.

    lxml parsers must not be shared between threads, so there is one per thread (which
    is one per process in gunicorn's sync workers).
    """
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            recover=False,
        )
        _local.parser = parser
    return parser


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML; any DOCTYPE is refused."""
    if not data.strip():
        raise SoapParseError("empty request body; expected a SOAP 1.1 envelope")
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError:
        raise SoapParseError("request body is not well-formed XML") from None
    docinfo: Any = root.getroottree().docinfo  # lxml-stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise SoapParseError("DOCTYPE declarations are not allowed in SOAP messages")
    return root


@dataclass(frozen=True)
class Envelope:
    """A parsed SOAP 1.1 envelope: optional header, and the Body's first element."""

    root: etree._Element
    header: etree._Element | None
    payload: etree._Element


def parse_envelope(data: bytes) -> Envelope:
    root = parse_xml(data)
    if root.tag == f"{{{SOAP12_ENVELOPE}}}Envelope":
        raise SoapParseError("SOAP 1.2 envelopes are not supported; send SOAP 1.1")
    if root.tag != f"{{{SOAP11_ENVELOPE}}}Envelope":
        raise SoapParseError(f"root element must be Envelope in namespace {SOAP11_ENVELOPE}")
    header = root.find(f"{{{SOAP11_ENVELOPE}}}Header")
    body = root.find(f"{{{SOAP11_ENVELOPE}}}Body")
    if body is None:
        raise SoapParseError("SOAP envelope has no Body")
    children = [child for child in body if isinstance(child.tag, str)]
    if not children:
        raise SoapParseError("SOAP Body is empty")
    return Envelope(root=root, header=header, payload=children[0])


def fault_envelope(faultcode: str, faultstring: str, detail_xml: str = "") -> bytes:
    """A SOAP 1.1 Fault. ``faultcode`` is ``soapenv:Client`` or ``soapenv:Server`` (or a
    qualified code whose prefix ``detail_xml`` declares); ``detail_xml`` is trusted XML."""
    detail = f"<detail>{detail_xml}</detail>" if detail_xml else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP11_ENVELOPE}">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>{escape(faultcode)}</faultcode>"
        f"<faultstring>{escape(faultstring)}</faultstring>"
        f"{detail}"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def envelope(body_xml: bytes, header_xml: bytes = b"") -> bytes:
    """Wrap already-serialised payload XML (no XML declaration) in a SOAP 1.1 envelope."""
    header = b"<soapenv:Header>" + header_xml + b"</soapenv:Header>" if header_xml else b""
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>'
        b'<soapenv:Envelope xmlns:soapenv="'
        + SOAP11_ENVELOPE.encode()
        + b'">'
        + header
        + b"<soapenv:Body>"
        + body_xml
        + b"</soapenv:Body></soapenv:Envelope>"
    )
