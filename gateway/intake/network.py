"""Who is calling: the client address behind trusted proxies, and the IP allowlist.

``X-Forwarded-For`` is only believed when the peer itself is a trusted proxy, and then
walked from the right (the hop our proxy added) past further trusted proxies; the first
untrusted address is the client. Anyone can write that header, so trusting it from an
arbitrary peer would make the allowlist decorative.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from gateway.intake.settings import Network

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _parse(value: str) -> Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(
    remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> Address | None:
    peer = _parse(remote_addr or "")
    if peer is None or not forwarded_for or not _within(peer, trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop)
        if address is None:
            return None  # a garbled chain proves nothing
        client = address
        if not _within(address, trusted):
            break
    return client


def is_allowed(address: Address | None, allowed: Sequence[Network]) -> bool:
    """Everyone when no allowlist is configured; otherwise only listed networks."""
    if not allowed:
        return True
    return address is not None and _within(address, allowed)
