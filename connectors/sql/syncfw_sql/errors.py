"""Database failures as syncfw errors, with messages that name the database but never its URL.

SQLAlchemy wraps every driver failure in a :class:`sqlalchemy.exc.DBAPIError` whose ``str()``
quotes the SQL statement and its parameters (row values) and links to its error pages; users
see only the driver's own first line, prefixed with the database in words
(:func:`~syncfw_sql.config.describe`: backend, database, host); the URL and its password are
replaced by ``***`` should a driver quote them.

Which failure is which:

* refused credentials (PostgreSQL "password authentication failed for user", MySQL "Access denied
  for user", SQL Server "Login failed for user"): :class:`~syncfw.errors.SourceAuthError`;
* a network database that cannot be reached while connecting (connection refused, timeout, the
  server shutting down): retried (:data:`syncfw.connector.RETRY_ATTEMPTS` tries), then
  :class:`~syncfw.errors.SourceUnavailable`;
* anything else (a missing table or column, a query the database refuses):
  :class:`~syncfw.errors.SourceError`.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from syncfw import SourceAuthError, SourceError
from syncfw_sql.config import describe

_AUTH_FAILURE = re.compile(r"authentication failed|access denied for user|login failed for user", re.I)
_PERMANENT = re.compile(r"does not exist|unknown database|no such", re.I)
SHORTEST_SECRET = 4
"""Characters: a shorter password is not replaced (it would mangle ordinary words)."""
FILE_DIALECTS = frozenset({"sqlite", "duckdb"})
"""Dialects whose database is a local file: nothing to wait for when it cannot be opened."""


def driver_message(exc: BaseException) -> str:
    """The driver's own message, first line, without SQLAlchemy's statement, parameters and links."""
    origin = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(origin).splitlines() if line.strip()]
    return lines[0] if lines else type(origin).__name__


def is_auth_failure(exc: BaseException) -> bool:
    """True when the database refused the credentials."""
    return isinstance(exc, DBAPIError) and bool(_AUTH_FAILURE.search(driver_message(exc)))


def is_transient_connect(exc: BaseException, url: URL) -> bool:
    """True for a failure to reach a network database that may heal: an ``OperationalError``
    while connecting that is neither refused credentials nor a database that does not exist."""
    return (
        isinstance(exc, OperationalError)
        and url.get_backend_name() not in FILE_DIALECTS
        and not is_auth_failure(exc)
        and not _PERMANENT.search(driver_message(exc))
    )


def source_error(exc: SQLAlchemyError, url: URL, what: str) -> SourceError:
    """The syncfw error for ``exc``, raised while doing ``what`` (``"reading stream 'customers'"``)."""
    message = f"{describe(url)}: {what} failed: {driver_message(exc)}"
    for secret in (url.render_as_string(hide_password=False), url.password):
        if isinstance(secret, str) and len(secret) >= SHORTEST_SECRET:
            message = message.replace(secret, "***")
    if is_auth_failure(exc):
        return SourceAuthError(f"{message}. Check the user and password in the connection URL")
    return SourceError(message)
