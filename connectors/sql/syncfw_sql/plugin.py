"""The syncfw plugin of ``syncfw-sql``: the SQL connector and the sandbox's SQL database.

Loaded through the ``syncfw`` entry point named ``sql``.
"""

from __future__ import annotations

from collections.abc import Callable

from syncfw import hookimpl
from syncfw.connector import Connector, SourceEmulator
from syncfw_sql.connector import SqlConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register :class:`SqlConnector` as ``sql``."""
    register(SqlConnector)


@hookimpl
def register_emulators(register: Callable[[type[SourceEmulator]], None]) -> None:
    """Register :class:`SqlSandboxDatabase`, the sandbox's seeded SQLite database."""
    from syncfw_sql.sandbox import SqlSandboxDatabase

    register(SqlSandboxDatabase)
