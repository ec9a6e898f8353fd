"""How a Redis client follows a Sentinel failover, and what a process does about one.

:func:`gateway.redis_connection.connect` builds a Sentinel client on
:class:`FollowingPool`. Following the master is not enough, though: replication is
asynchronous, so the new master holds the old one's writes but perhaps not the last of
them, and a process that noticed nothing may go on from a write that is gone. Two rules
cover it:

* **A fenced attempt is redone.** A job attempt runs inside :func:`fenced_attempt`. When
  the Sentinels name a new master during it, its next Redis command raises
  :class:`MasterChanged`: what it wrote before may be lost (a callback handed on, then
  the done marker written on the new master, would lose the callback), so the attempt
  fails and is redone from its start on the new master. The work is idempotent.
* **Callbacks on a change.** :func:`on_new_master` tells a component (Dramatiq's broker
  takes a new identity: an ack lost with the old master leaves a message in an ack set
  nobody watches) and :func:`master_epoch` counts the changes this process has seen (a
  message fetched before a change is not acked after it; it comes back).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from redis.connection import SSLConnection
from redis.sentinel import SentinelConnectionPool, SentinelManagedConnection

#: How often a client asks the Sentinels whether the master moved (:class:`FollowingPool`).
MASTER_CHECK_S = 1.0


class MasterChanged(redis.ConnectionError):
    """The Sentinels named a new master while this attempt ran: redo it from its start."""


_changes = 0
_changes_lock = threading.Lock()
_attempt = threading.local()


def master_epoch() -> int:
    """How many times a client of this process found a new master."""
    return _changes


@contextlib.contextmanager
def fenced_attempt() -> Iterator[None]:
    """One job attempt: if the master changes while it runs, its next Redis command
    raises :class:`MasterChanged` (module doc)."""
    outer = getattr(_attempt, "epoch", None)
    _attempt.epoch = _changes
    try:
        yield
    finally:
        _attempt.epoch = outer


def _check_fence() -> None:
    began = getattr(_attempt, "epoch", None)
    if began is not None and began != _changes:
        raise MasterChanged("the Redis master changed during this attempt; it is redone")


def _count_a_change() -> None:
    global _changes  # noqa: PLW0603 - one counter per process, by design
    with _changes_lock:
        _changes += 1


class FollowingConnection(SentinelManagedConnection):
    """A connection to whatever server the Sentinels name master, every time it connects.

    Two gaps in redis-py (8.2) that a failover falls into, closed here:

    * A command that meets a broken connection reconnects through
      ``connect_check_health``, which Sentinel's connection does not override: it
      reconnects to the *old* master's address, not the one the Sentinels name. Once
      a new server answers there (the lost host rebuilt as a replica, or worse,
      restarted empty as a master) writes go to the wrong server. Here every
      reconnect asks the Sentinels first.
    * A script whose write lands on a replica fails with ``ERR Error running script
      ... -READONLY ...``, which redis-py does not recognise as the ``READONLY`` that
      makes it drop a demoted master's connection. Here it is the same: the
      connection is dropped and the caller sees a ``ConnectionError``.
    """

    _addressing = False

    def connect_to(self, address: tuple[str, int]) -> None:
        pool = self.connection_pool.connection_pool_ref()
        if isinstance(pool, FollowingPool):
            pool.notice(address)
        _check_fence()
        self._addressing = True  # the address comes from the Sentinels: connect there
        try:
            super().connect_to(address)  # type: ignore[no-untyped-call]
        finally:
            self._addressing = False

    def connect_check_health(
        self, check_health: bool = True, retry_socket_connect: bool = True
    ) -> None:
        if self._sock is not None or self._addressing:
            super().connect_check_health(check_health, retry_socket_connect)
            return
        self.connect()  # type: ignore[no-untyped-call]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except redis.ResponseError as error:
            if not is_read_only(error):
                raise
            self.disconnect()  # type: ignore[no-untyped-call]
            raise redis.ConnectionError("the master is now a replica (a script's write)") from None


class FollowingSSLConnection(FollowingConnection, SSLConnection):
    pass


def is_read_only(error: redis.ResponseError) -> bool:
    """Whether the server refused a write because it is a replica (also inside a script)."""
    text = str(error)
    return isinstance(error, redis.ReadOnlyError) or "-READONLY " in text


class FollowingPool(SentinelConnectionPool):
    """Sentinel's pool that also notices a master change while its connections work.

    redis-py asks the Sentinels only when it opens a connection; open connections stay
    on the old master as long as it answers. Here, at most once per
    :data:`MASTER_CHECK_S`, handing out a connection first asks the Sentinels; on a
    change redis-py disconnects the idle connections and refuses the busy ones back,
    so the next commands go to the new master. An unreachable Sentinel changes nothing:
    the connections in hand keep working.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        ssl = kwargs.pop("ssl", False)
        kwargs["connection_class"] = FollowingSSLConnection if ssl else FollowingConnection
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        self._checked = time.monotonic()
        self._known: object = None
        self.on_new_master: Callable[[], None] | None = None

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        now = time.monotonic()
        if now - self._checked >= MASTER_CHECK_S:
            self._checked = now
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                self.get_master_address()  # type: ignore[no-untyped-call]
        connection = super().get_connection(*args, **kwargs)
        if self.master_address is not None:
            self.notice(self.master_address)
        try:
            _check_fence()
        except MasterChanged:
            self.release(connection)
            raise
        return connection

    def notice(self, address: object) -> None:
        """The Sentinels name ``address``: a change from the master known so far?"""
        if address == self._known:
            return
        first, self._known = self._known is None, address
        if first:
            return
        _count_a_change()
        if self.on_new_master is not None:
            self.on_new_master()


def on_new_master(client: redis.Redis, callback: Callable[[], None]) -> None:
    """Call ``callback`` when ``client`` finds that the Sentinels name another master than
    the one it used so far (nothing happens for a client of one server by URL).

    A new master holds a copy of the old one's writes that may lack the last of them:
    what a process knows it wrote may not be there. Dramatiq's broker needs to hear of
    it (:func:`gateway.broker.make_broker`): an ack that was lost brings a message back
    into an ack set its worker no longer watches.
    """
    pool = client.connection_pool
    if isinstance(pool, FollowingPool):
        pool.on_new_master = callback
