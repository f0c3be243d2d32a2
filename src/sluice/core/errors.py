"""Exceptions that the CLI turns into one-line messages and exit codes (re-exported by
:mod:`sluice.errors`)."""

from __future__ import annotations

from alembic.util import CommandError


class SluiceError(CommandError):
    """A problem the user can fix; rendered as one line on stderr, exit code 2.

    Carry the file, line, key or URL in the message itself; the CLI prints it as is.
    Subclassing Alembic's ``CommandError`` means a plain ``alembic`` command run through
    a Sluice-wired env.py prints ``FAILED: <message>`` instead of a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(SluiceError):
    """Invalid or unreadable Sluice configuration."""


class PolicyViolation(SluiceError):
    """A Sluice policy refused what Alembic was asked to do (exit code 1)."""

    exit_code = 1


class DatabaseUnavailable(SluiceError):
    """A database could not be reached; the message carries the masked URL."""


def mask_url(url: object) -> str:
    """Render a database URL with its password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:
        return str(url)
