"""The one exception type users see: a one-line message naming the file and what was expected."""
from __future__ import annotations

from os import PathLike


class RelitError(Exception):
    """A user-facing error; the CLI prints it as one line and exits non-zero."""

    def __init__(self, message: str, path: str | PathLike[str] | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
