"""The small exception hierarchy for input that cannot be used at all.

Everything recoverable (a footer row, a blank email, an odd date) is reported, not raised.
An error carries a message key and parameters rather than text, so the CLI and the app
render it in the user's language through the one i18n catalogue.
"""

from __future__ import annotations

from typing import Any

from funnel.i18n import t


class FunnelError(Exception):
    """Base class: unusable input, with a message key into the i18n catalogue."""

    key = "error.generic"

    def __init__(self, file: str | None = None, key: str | None = None, **params: Any) -> None:
        self.file = file
        if key is not None:
            self.key = key
        self.params = params
        super().__init__(self.render("en"))

    def render(self, lang: str = "ja") -> str:
        """The one-line message in ``lang``, naming the file when there is one."""
        text = t(self.key, lang, **self.params)
        return f"{self.file}: {text}" if self.file else text


class UnreadableFileError(FunnelError):
    """The file cannot be opened or decoded as a table (missing, binary, corrupt, encrypted)."""

    key = "error.unreadable"


class EmptyFileError(FunnelError):
    """The file holds no table: zero bytes, no header, or a header without data rows."""

    key = "error.empty"


class TooLargeError(FunnelError):
    """The file exceeds a configured limit (size, expanded size of a workbook)."""

    key = "error.too_large"


class MappingError(FunnelError):
    """A column mapping or link names a column or field that does not exist."""

    key = "error.mapping"


class NoKeyColumnError(FunnelError):
    """Neither an email nor an ID column is available to link the two sides."""

    key = "error.no_key"
