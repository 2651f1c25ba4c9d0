"""What a connector's source emulator is built from (see ``docs/connectors.md``).

An emulator is a Starlette app served on 127.0.0.1 by :class:`ServedApp`, over HTTPS with the
sandbox's :class:`TLSFiles`; it fails requests as its real service does, drawn from a
:class:`FaultPlan` by a :class:`FaultInjector` (``--source-faults`` of ``syncfw sandbox serve``
reaches an emulator as ``EmulatorContext.options["faults"]``). This package imports only the
connector contract and the errors, so the contract and third-party emulators can rely on it
without pulling in the sandbox or the engine.
"""

from syncfw.emulation.faults import (
    FAULT_KINDS,
    DroppableConnections,
    FaultInjector,
    FaultKind,
    FaultPlan,
    Injection,
    drop_connection,
    hold,
)
from syncfw.emulation.server import ServedApp, TLSFiles

__all__ = [
    "FAULT_KINDS",
    "DroppableConnections",
    "FaultInjector",
    "FaultKind",
    "FaultPlan",
    "Injection",
    "ServedApp",
    "TLSFiles",
    "drop_connection",
    "hold",
]
