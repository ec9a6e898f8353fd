"""Where an outbound-message contract's notifications go: a Dramatiq queue and actor.

The gateway decides it for every message it enqueues, ``sfgw status`` for every queue it
reports; both ask :func:`contract_route`. An Opportunity contract goes to the order
pipeline, whatever its file is called (the record type comes from the WSDL); any other
contract to a queue and an actor named after it, for a user's own actor; an explicit
``SFGW_ROUTE_<CONTRACT>=queue[:actor]`` wins over both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.broker import ORDERS_QUEUE, PROCESS_NOTIFICATION
from gateway.config import ConfigError, Env

#: The record type whose notifications the order pipeline handles.
ORDER_OBJECT = "Opportunity"
ROUTE_PREFIX = "SFGW_ROUTE_"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}")


@dataclass(frozen=True)
class Route:
    """Where one contract's notifications are enqueued: a Dramatiq queue and actor name."""

    queue: str
    actor: str


def contract_route(contract: str, object_name: str, overrides: dict[str, Route]) -> Route:
    """See :meth:`IntakeSettings.route_for` (``sfgw status`` asks the same question)."""
    override = overrides.get(contract.upper())
    if override is not None:
        return override
    if object_name == ORDER_OBJECT:
        return Route(queue=ORDERS_QUEUE, actor=PROCESS_NOTIFICATION)
    return Route(queue=contract, actor=contract)


def route_overrides_from_env(env: Env) -> dict[str, Route]:
    """``SFGW_ROUTE_<CONTRACT>=queue[:actor]`` settings, by upper-case contract name."""
    routes: dict[str, Route] = {}
    for key, value in env.items():
        if not key.startswith(ROUTE_PREFIX) or not value.strip():
            continue
        name = key[len(ROUTE_PREFIX) :].upper()
        queue, _, actor = value.strip().partition(":")
        actor = actor or name.lower()
        if not _NAME.fullmatch(queue) or not _NAME.fullmatch(actor):
            raise ConfigError(
                f"{key}={value!r}: use QUEUE or QUEUE:ACTOR (letters, digits, '_', '.', '-')"
            )
        routes[name] = Route(queue=queue, actor=actor)
    return routes
