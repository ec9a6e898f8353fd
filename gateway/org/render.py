"""A deployable copy of the bundle for one gateway: real endpoints, chosen contracts.

The bundle in the repository posts to a placeholder host; Salesforce needs the real one,
over https. Rendering copies the SFDX project, rewrites each kept outbound message's
``endpointUrl`` to ``https://HOST/salesforce/outbound/<contract>`` (and, if given, the user
the messages are sent as), drops the outbound messages of contracts not chosen together
with the flows that send them, and reads the copy back strictly: what is written is
exactly what ``sfgw bindings check`` would accept.

Edits are made on the XML tree of the copied files, so everything else in them (order,
comments, formatting) stays as it was.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from gateway.contracts import OUTBOUND_ROUTE_PREFIX
from gateway.namespaces import SALESFORCE_METADATA
from gateway.org.bundle import OrgBundle, OutboundMessage, load_bundle, route_of
from gateway.org.errors import BundleError
from gateway.org.project import PROJECT_FILE

#: The repository's bundle writes example.com where a value of the user's org belongs.
PLACEHOLDER_DOMAIN = "example.com"
#: Salesforce delivers outbound messages to these ports only.
ALLOWED_PORTS = "443 or 1024-65535"
_M = f"{{{SALESFORCE_METADATA}}}"


def gateway_base(url: str) -> str:
    """``--gateway-url`` checked and without a trailing slash; https only, because
    Salesforce refuses to send outbound messages (and a SessionId) over plain http."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise BundleError(
            f"--gateway-url {url}: Salesforce requires https for outbound message "
            "endpoints; use https://HOST (a certificate from a public CA)"
        )
    if not parts.hostname or parts.query or parts.fragment or parts.username:
        raise BundleError(
            f"--gateway-url {url}: give the gateway's base URL only, e.g. https://gw.example.com"
        )
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and port != 443 and not 1024 <= port <= 65535:
        raise BundleError(f"--gateway-url {url}: Salesforce delivers to port {ALLOWED_PORTS} only")
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class RenderedBundle:
    """What was written: the bundle as read back, and which messages it sends."""

    bundle: OrgBundle
    messages: tuple[OutboundMessage, ...]

    @property
    def placeholder_users(self) -> list[OutboundMessage]:
        """Messages still sent as the repository's example user (deploying them fails)."""
        return [m for m in self.messages if m.integration_user.endswith(f"@{PLACEHOLDER_DOMAIN}")]


def _choose(bundle: OrgBundle, contracts: Sequence[str], served: Sequence[str]) -> set[str]:
    """The action names of the outbound messages to keep."""
    ours = [m for m in bundle.outbound_messages if m.route is not None]
    available = sorted({str(m.route) for m in ours})
    for name in contracts:
        if name not in served:
            raise BundleError(
                f"--contract {name}: the gateway has no outbound-message contract of that name "
                f"(it serves {', '.join(served) or 'none'})"
            )
        if name not in available:
            raise BundleError(
                f"--contract {name}: no outbound message in {bundle.root} posts to "
                f"{OUTBOUND_ROUTE_PREFIX}{name} (it has {', '.join(available) or 'none'})"
            )
    wanted = set(contracts) or set(available)
    return {m.action_name for m in ours if m.route in wanted}


def _copy(bundle: OrgBundle, out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BundleError(f"--out {out}: exists and is not an empty folder; name a new one")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(bundle.root / PROJECT_FILE, out / PROJECT_FILE)
    if (bundle.root / ".forceignore").is_file():
        shutil.copy2(bundle.root / ".forceignore", out / ".forceignore")
    for directory in bundle.project.package_directories:
        shutil.copytree(bundle.root / directory.path, out / directory.path)


def _remove(element: etree._Element) -> None:
    """Drop an element and keep the indentation of what follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.getnext() is None:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = element.tail
        else:
            parent.text = element.tail
    parent.remove(element)


def _write(path: Path, root: etree._Element) -> None:
    body = etree.tostring(root, encoding="UTF-8", xml_declaration=False)
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n")


def _read(path: Path) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.parse(str(path), parser).getroot()


def _rewrite_workflow(
    path: Path, object_name: str, keep: set[str], base: str, send_as: str | None
) -> None:
    root = _read(path)
    for message in root.findall(f"{_M}outboundMessages"):
        action = f"{object_name}.{message.findtext(f'{_M}fullName')}"
        endpoint = message.find(f"{_M}endpointUrl")
        route = route_of(endpoint.text or "") if endpoint is not None else None
        if route is None:
            continue  # not a gateway message: left as the user wrote it
        if action not in keep:
            _remove(message)
            continue
        if endpoint is not None:
            endpoint.text = f"{base}{OUTBOUND_ROUTE_PREFIX}{route}"
        user = message.find(f"{_M}integrationUser")
        if send_as and user is not None:
            user.text = send_as
    if len(root) == 0:
        path.unlink()
    else:
        _write(path, root)


def render_bundle(
    source: Path,
    out: Path,
    gateway_url: str,
    *,
    served: Sequence[str],
    contracts: Sequence[str] = (),
    send_as: str | None = None,
) -> RenderedBundle:
    """Write the deployable copy of ``source`` to ``out`` (see the module docstring).

    ``served`` are the gateway's outbound-message contracts; ``contracts`` the ones to
    keep (all of the bundle's when empty).
    """
    base = gateway_base(gateway_url)
    bundle = load_bundle(source)
    keep = _choose(bundle, contracts, served)
    dropped = {m.action_name for m in bundle.outbound_messages if m.route} - keep
    _copy(bundle, out)
    for workflow in sorted({m.source for m in bundle.outbound_messages}):
        object_name = Path(workflow).name.split(".", 1)[0]
        _rewrite_workflow(out / workflow, object_name, keep, base, send_as)
    for flow in bundle.flows:
        sent = set(flow.outbound_messages)
        if sent and sent <= dropped:
            (out / flow.source).unlink()
        elif sent & dropped:
            raise BundleError(
                f"{flow.source}: sends outbound messages of kept and dropped contracts; "
                "give each contract's message a flow of its own"
            )
    written = load_bundle(out)
    messages = tuple(m for m in written.outbound_messages if m.route is not None)
    return RenderedBundle(bundle=written, messages=messages)
