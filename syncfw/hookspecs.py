"""Every hook a syncfw plugin can implement, in one place.

Hooks are coarse and receive a ``register`` callback, so a plugin adds any number of things in one
function and syncfw can validate each one as it is registered. Built-in connectors use exactly these
hooks, through the ``syncfw`` entry-point group, like any third-party plugin::

    # pyproject.toml of a connector distribution
    [project.entry-points.syncfw]
    mysource = "syncfw_mysource.plugin"

    # syncfw_mysource/plugin.py
    from syncfw import hookimpl

    @hookimpl
    def register_connectors(register):
        register(MySourceConnector)

All hooks are called for every plugin (no first-result-wins); their return values are ignored. The
command line imports a plugin only when a recipe names one of its connectors (or needs a transform
no loaded plugin registers): see :mod:`syncfw.plugins`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from syncfw.connector import Connector, SourceEmulator

hookspec = pluggy.HookspecMarker("syncfw")
hookimpl = pluggy.HookimplMarker("syncfw")


@hookspec
def register_connectors(register: Callable[[type[Connector]], None]) -> None:
    """Register source connector classes.

    Call ``register(ConnectorClass)`` once per connector. The class's ``name`` is what recipes
    put in ``sources.<name>.connector``; two plugins registering one name is an error.
    """


@hookspec
def register_emulators(register: Callable[[type[SourceEmulator]], None]) -> None:
    """Register sandbox emulators of source APIs.

    Call ``register(EmulatorClass)``; the class's ``name`` must equal the name of the connector
    whose API it emulates. ``syncfw sandbox serve`` starts one instance of each. syncfw calls this
    hook only when emulators are asked for (the sandbox, the demo, ``syncfw plugins``): import the
    emulator inside it, so that a run does not load the emulator's web server.
    """


@hookspec
def register_transforms(register: Callable[[str, Callable[..., Any]], None]) -> None:
    """Register named value transforms usable in mappings (``transforms: [name, ...]``).

    Call ``register(name, function)``. The function receives the current value (any JSON-like
    Python value, or None) followed by the arguments written in the mapping, and returns the new
    value. Raise ``ValueError`` with a short reason to reject a record's value; the record is
    then reported with its source and key instead of being synced.
    """
