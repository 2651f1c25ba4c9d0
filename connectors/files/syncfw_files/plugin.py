"""The syncfw plugin of ``syncfw-files``: the files connector.

Loaded through the ``syncfw`` entry point named ``files``. Files are local, so there is no
sandbox emulator: recipes in the sandbox point at files directly.
"""

from __future__ import annotations

from collections.abc import Callable

from syncfw import hookimpl
from syncfw.connector import Connector
from syncfw_files.connector import FilesConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register :class:`FilesConnector` as ``files``."""
    register(FilesConnector)
