"""Where a recipe's state lives: a SQLite file (the default) or a PostgreSQL database.

A state URL is ``sqlite:///PATH`` (SQLAlchemy's spelling: three slashes and a relative path, four
for an absolute one) or ``postgresql://[user[:password]@][host][:port][/dbname][?param=value&…]``
(libpq's connection URI, https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS;
``postgres://`` too). It comes from the recipe (``state: {url: …}``, a reference since it may
carry a password), else from ``SYNCFW_STATE_URL`` (where a ``sqlite:///`` path is the directory
of every recipe's ``<recipe>.sqlite``), else the recipe's state is ``.syncfw/<recipe>.sqlite``.
A malformed URL is refused with a one-line reason that shows the URL with its password as ``***``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

STATE_URL_VARIABLE = "SYNCFW_STATE_URL"
"""The environment variable naming where the state of recipes without ``state:`` lives."""
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class SqliteState:
    """The state in one SQLite file."""

    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class PostgresState:
    """The state in a PostgreSQL database: ``url`` is libpq's connection URI (with its password),
    ``shown`` the same with the password as ``***``."""

    url: str = field(repr=False)
    shown: str

    def __str__(self) -> str:
        return self.shown


StateLocation = SqliteState | PostgresState


def parse_state_url(text: str, base: Path) -> StateLocation:
    """The place ``text`` names; a relative SQLite path is taken from ``base``.

    Raises:
        ValueError: a one-line reason, with the URL's password shown as ``***``.
    """
    if text.startswith(SQLITE_PREFIX):
        path = text[len(SQLITE_PREFIX) :]
        if not path:
            raise ValueError(
                f"{text!r} names no file: write sqlite:///relative/path or sqlite:////absolute/path"
            )
        return SqliteState(base / Path(path).expanduser())
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise ValueError(f"{_hide_password(text)!r} is not a URL ({exc})") from None
    shown = _shown(parts)
    if parts.scheme == "sqlite":
        raise ValueError(
            f"{shown!r}: a SQLite URL has no host: write sqlite:///relative/path or sqlite:////absolute/path"
        )
    if parts.scheme not in POSTGRES_SCHEMES:
        raise ValueError(f"{shown!r} is neither sqlite:///PATH nor postgresql://…")
    try:
        parts.port  # noqa: B018 (urlsplit checks the port when it is read)
    except ValueError:
        raise ValueError(f"{shown!r}: the port is not a number from 0 to 65535") from None
    if parts.fragment:
        raise ValueError(f"{shown!r}: a PostgreSQL URL has no #fragment")
    return PostgresState(text, shown)


def _shown(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.geturl()
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return parts._replace(netloc=f"{name}:***@{host}").geturl()


def _hide_password(text: str) -> str:
    """``text`` with what lies between ``user:`` and ``@`` hidden (for a URL too broken to split)."""
    scheme, sep, rest = text.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at and ":" in credentials):
        return text
    return f"{scheme}://{credentials.partition(':')[0]}:***@{host}"
