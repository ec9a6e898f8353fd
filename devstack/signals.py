"""Stopping a stack cleanly when the user presses Ctrl-C (the demo and the benchmarks).

The first SIGINT/SIGTERM interrupts whatever the program is doing; further signals during
the shutdown are ignored, so a second impatient Ctrl-C cannot leave half the stack
running.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Protocol


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def signals_interrupt(program: str = "sfgw demo") -> Iterator[None]:
    """The first SIGINT/SIGTERM raises :class:`Interrupted`; later ones are ignored."""
    received: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if received:
            print(f"\n{program}: already stopping, please wait", file=sys.stderr, flush=True)
            return
        received.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


class Stoppable(Protocol):
    def stop(self) -> None: ...


class Saying(Protocol):
    def say(self, text: str) -> None: ...


def stop_stack(stack: Stoppable | None, reporter: Saying) -> None:
    """Stop every part with SIGINT/SIGTERM ignored meanwhile; a failure is reported."""
    if stack is None:
        return
    # No signal may interrupt the shutdown itself: it is what keeps the machine clean.
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        stack.stop()
    except Exception as error:
        reporter.say(f"while stopping the stack: {error}")
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
