"""The syncfw plugin of ``syncfw-zendesk``: the connector and its sandbox emulator.

Loaded through the ``syncfw`` entry point named ``zendesk``.
"""

from __future__ import annotations

from collections.abc import Callable

from syncfw import hookimpl
from syncfw.connector import Connector, SourceEmulator
from syncfw_zendesk.connector import ZendeskConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register :class:`ZendeskConnector` as ``zendesk``."""
    register(ZendeskConnector)


@hookimpl
def register_emulators(register: Callable[[type[SourceEmulator]], None]) -> None:
    """Register :class:`ZendeskEmulator`, the sandbox's Zendesk Support API."""
    # imported here: the emulator's web server is loaded only when the sandbox asks for emulators
    from syncfw_zendesk.emulator import ZendeskEmulator

    register(ZendeskEmulator)
