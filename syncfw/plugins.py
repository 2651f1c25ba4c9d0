"""Loading plugins and collecting what they register.

Plugins are found through the ``syncfw`` entry-point group. ``SYNCFW_LOAD_PLUGINS`` restricts
which ones load: a comma-separated list of entry-point names (or distribution names); an empty
value loads none (the built-in transforms still load). A plugin that fails to import, or that
registers something invalid, becomes a warning listed by ``syncfw plugins`` rather than a crash.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from syncfw import hookspecs
from syncfw.connector import Connector, SourceEmulator
from syncfw.errors import ConfigError, PluginWarning

ENTRY_POINT_GROUP = "syncfw"


@dataclass
class PluginInfo:
    """What ``syncfw plugins`` shows for one plugin."""

    name: str
    distribution: str
    version: str
    connectors: list[str] = field(default_factory=list)
    emulators: list[str] = field(default_factory=list)
    transforms: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """Everything the loaded plugins registered."""

    connectors: dict[str, type[Connector]] = field(default_factory=dict)
    emulators: dict[str, type[SourceEmulator]] = field(default_factory=dict)
    transforms: dict[str, Callable[..., Any]] = field(default_factory=dict)
    plugins: list[PluginInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def connector(self, name: str) -> type[Connector]:
        """The connector class registered as ``name``.

        Raises:
            ConfigError: no installed plugin provides it; the message lists what is installed.
        """
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise ConfigError(
                f"no connector named {name!r} is installed (installed: {known}); "
                f"install its distribution, e.g. `pip install syncfw-{name}`"
            ) from None


def _wanted(ep: EntryPoint) -> bool:
    allowed = os.environ.get("SYNCFW_LOAD_PLUGINS")
    if allowed is None:
        return True
    names = {n.strip() for n in allowed.split(",") if n.strip()}
    dist = ep.dist.name if ep.dist is not None else ""
    return ep.name in names or dist in names


def _collect(pm: pluggy.PluginManager, info: PluginInfo, registry: Registry) -> None:
    def register_connector(cls: type[Connector]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            registry.problems.append(f"{info.name}: register_connectors got {cls!r}, not a Connector class")
            return
        if cls.name in registry.connectors:
            registry.problems.append(f"{info.name}: connector {cls.name!r} is already registered")
            return
        registry.connectors[cls.name] = cls
        info.connectors.append(cls.name)

    def register_emulator(cls: type[SourceEmulator]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, SourceEmulator)):
            registry.problems.append(f"{info.name}: register_emulators got {cls!r}, not a SourceEmulator")
            return
        registry.emulators[cls.name] = cls
        info.emulators.append(cls.name)

    def register_transform(name: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            registry.problems.append(f"{info.name}: transform {name!r} is not callable")
            return
        if name in registry.transforms:
            registry.problems.append(f"{info.name}: transform {name!r} is already registered")
            return
        registry.transforms[name] = fn
        info.transforms.append(name)

    pm.hook.register_connectors(register=register_connector)
    pm.hook.register_emulators(register=register_emulator)
    pm.hook.register_transforms(register=register_transform)


def load_plugins() -> Registry:
    """Load the built-in plugins and every allowed entry point; return what they registered.

    Never raises for a broken plugin: its error is kept in ``Registry.problems`` and issued as a
    :class:`PluginWarning`.
    """
    from syncfw import __version__
    from syncfw.mapping import transforms as builtin_transforms

    registry = Registry()

    loaded: list[tuple[object, PluginInfo]] = [
        (builtin_transforms, PluginInfo("syncfw", "syncfw", __version__))
    ]
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if not _wanted(ep):
            continue
        dist = ep.dist.name if ep.dist is not None else "?"
        version = ep.dist.version if ep.dist is not None else "?"
        try:
            module = ep.load()
        except Exception as exc:  # a third party's import error must not take syncfw down
            registry.problems.append(f"{ep.name} ({dist}): failed to import {ep.value}: {exc}")
            continue
        loaded.append((module, PluginInfo(ep.name, dist, version)))

    for module, info in loaded:
        # one manager per plugin: a misspelled hook (check_pending) or a failing hook disables
        # that plugin only, with a warning naming it
        pm = pluggy.PluginManager("syncfw")
        pm.add_hookspecs(hookspecs)
        try:
            pm.register(module, name=info.name)
            pm.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:
            registry.problems.append(f"{info.name} ({info.distribution}): {exc}")
            continue
        try:
            _collect(pm, info, registry)
        except Exception as exc:
            registry.problems.append(f"{info.name} ({info.distribution}): a registration hook failed: {exc}")
            continue
        registry.plugins.append(info)

    for problem in registry.problems:
        warnings.warn(problem, PluginWarning, stacklevel=2)
    return registry
