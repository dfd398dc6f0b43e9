"""One family of errors: every failure a user can cause is a SheetgenError with a one-line
message; the command line prints it and exits with status 2."""

from __future__ import annotations


class SheetgenError(Exception):
    """Base of every error sheetgen raises on purpose; `str(error)` is one line for the user."""


class UsageError(SheetgenError, ValueError):
    """A bad argument to a command or a public function."""


class ConfigError(SheetgenError, ValueError):
    """A setting is unusable; the message is one line naming the field."""

    @property
    def field(self) -> str:
        return str(self).split(":", 1)[0]


class ModelError(SheetgenError, ValueError):
    """The computation left floating point (inf or NaN)."""


class WorkbookError(SheetgenError, ValueError):
    """A workbook cannot be read; the message is one line for the user."""


class AuditError(SheetgenError, ValueError):
    """A table is there but cannot be audited (a column it needs is missing, say)."""


class WriteError(SheetgenError, OSError):
    """An output file cannot be written (disk full, name too long, ...); names the user's path."""


class VerifyError(SheetgenError):
    """LibreOffice could not be started or could not open a file."""


__all__ = ["AuditError", "ConfigError", "ModelError", "SheetgenError", "UsageError", "VerifyError",
           "WorkbookError", "WriteError"]
