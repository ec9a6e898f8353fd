"""What goes wrong with an org bundle, said in one line that names the file and the fix."""

from __future__ import annotations

from pathlib import Path


class BundleError(ValueError):
    """The org bundle cannot be used; the message names the file and what to change."""


class MetadataError(BundleError):
    """One metadata file breaks the schema: ``file:line: element <name>: problem``.

    The line and element are kept apart too, so a test (or an editor integration) can
    point at the spot without parsing the message.
    """

    def __init__(self, path: str | Path, line: int | None, element: str | None, problem: str):
        self.path = str(path)
        self.line = line
        self.element = element
        self.problem = problem
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"element <{element}>: " if element else ""
        super().__init__(f"{where}: {what}{problem}")
