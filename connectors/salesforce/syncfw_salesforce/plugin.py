"""The syncfw plugin of ``syncfw-salesforce``: the connector and its sandbox emulator.

Loaded through the ``syncfw`` entry point named ``salesforce``.
"""

from __future__ import annotations

from collections.abc import Callable

from syncfw import hookimpl
from syncfw.connector import Connector, SourceEmulator
from syncfw_salesforce.connector import SalesforceConnector


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register :class:`SalesforceConnector` as ``salesforce``."""
    register(SalesforceConnector)


@hookimpl
def register_emulators(register: Callable[[type[SourceEmulator]], None]) -> None:
    """Register :class:`SalesforceEmulator`, the sandbox's Salesforce REST API."""
    # imported here: the emulator's web server is loaded only when the sandbox asks for emulators
    from syncfw_salesforce.emulator import SalesforceEmulator

    register(SalesforceEmulator)
