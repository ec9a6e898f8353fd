"""The one error a stack raises about its parts, naming the part and where to look."""

from __future__ import annotations

from pathlib import Path


class StackError(RuntimeError):
    """A part of the stack failed; ``part`` names it and ``log_path`` is where to look."""

    def __init__(self, part: str, problem: str, log_path: Path | None) -> None:
        where = f" (log: {log_path})" if log_path is not None else ""
        super().__init__(f"{part}: {problem}{where}")
        self.part = part
        self.problem = problem
        self.log_path = log_path


class NotSettled(TimeoutError):
    """What a stack was waited for did not happen in time; the message says what is left
    and ends with the parts' log tails."""
