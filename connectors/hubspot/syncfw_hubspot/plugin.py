"""The syncfw plugin of ``syncfw-hubspot``: the connector, its sandbox emulator, its transform.

Loaded through the ``syncfw`` entry point named ``hubspot``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncfw import hookimpl
from syncfw.connector import Connector, SourceEmulator
from syncfw_hubspot.connector import HubSpotConnector
from syncfw_hubspot.transforms import hubspot_ids


@hookimpl
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register :class:`HubSpotConnector` as ``hubspot``."""
    register(HubSpotConnector)


@hookimpl
def register_emulators(register: Callable[[type[SourceEmulator]], None]) -> None:
    """Register :class:`HubSpotEmulator`, the sandbox's HubSpot CRM API."""
    # imported here: the emulator's web server is loaded only when the sandbox asks for emulators
    from syncfw_hubspot.emulator import HubSpotEmulator

    register(HubSpotEmulator)


@hookimpl
def register_transforms(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register ``hubspot_ids``: associated records' ids for relations."""
    register("hubspot_ids", hubspot_ids)
