"""A value built on first use, once, by whichever thread needs it first.

Worker processes build their clients (zeep, HTTP pools, the ERP client) lazily: a job
that never needs the ERP (a duplicate, a skip) must not depend on it being reachable,
and ``sfgw worker`` start-up must not wait for WSDLs to load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
                value = self._value
        return value
