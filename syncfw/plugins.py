"""Loading plugins and collecting what they register.

Plugins are found through the ``syncfw`` entry-point group. ``SYNCFW_LOAD_PLUGINS`` restricts
which ones load: a comma-separated list of entry-point names (or distribution names); an empty
value loads none (the built-in transforms still load). A plugin that fails to import, or that
registers something invalid, becomes a warning listed by ``syncfw plugins`` rather than a crash.

Importing a plugin imports its source's client library (and pandas, for the files connector), so
the command line loads them on demand (:func:`load_plugins` with ``on_demand=True``): a connector or
emulator named ``x`` that is not registered yet loads the entry point named ``x`` first (the
built-in connectors' entry points are named after their connector), and any other miss, or a
listing, loads every plugin not loaded yet. ``register_emulators`` is called only when emulators
are asked for, so that a run does not import the sandbox's web stack.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Literal, TypeVar

import pluggy

from syncfw import hookspecs
from syncfw.connector import Connector, SourceEmulator
from syncfw.errors import ConfigError, PluginWarning

ENTRY_POINT_GROUP = "syncfw"

V = TypeVar("V")
Kind = Literal["connectors", "emulators", "transforms"]


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
    """Everything the loaded plugins registered (with :func:`load_plugins` ``on_demand``,
    ``plugins`` and ``problems`` hold the plugins loaded so far)."""

    connectors: Mapping[str, type[Connector]] = field(default_factory=dict)
    emulators: Mapping[str, type[SourceEmulator]] = field(default_factory=dict)
    transforms: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
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


class _OnDemand(Mapping[str, V]):
    """What the plugins registered of one kind; a name not registered yet, or a listing, first
    loads the plugins that may provide it."""

    def __init__(self, loader: _Loader, kind: Kind, items: dict[str, V]) -> None:
        self._loader = loader
        self._kind: Kind = kind
        self._items = items

    def __getitem__(self, name: str) -> V:
        if name not in self._items:
            self._loader.need(self._kind, name)
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        self._loader.need(self._kind, None)
        return iter(self._items)

    def __len__(self) -> int:
        self._loader.need(self._kind, None)
        return len(self._items)


class _Loader:
    """Imports entry points and calls their hooks, checking each thing registered."""

    def __init__(self, pending: list[EntryPoint], report: Callable[[str], None]) -> None:
        self.pending = {ep.name: ep for ep in pending}
        self.report = report
        self.connectors: dict[str, type[Connector]] = {}
        self.emulators: dict[str, type[SourceEmulator]] = {}
        self.transforms: dict[str, Callable[..., Any]] = {}
        self.registry = Registry(
            connectors=_OnDemand(self, "connectors", self.connectors),
            emulators=_OnDemand(self, "emulators", self.emulators),
            transforms=_OnDemand(self, "transforms", self.transforms),
        )
        self.stores: dict[Kind, Mapping[str, object]] = {
            "connectors": self.connectors,
            "emulators": self.emulators,
            "transforms": self.transforms,
        }
        self.emulators_due: list[tuple[pluggy.PluginManager, PluginInfo]] = []
        self.lock = threading.RLock()  # the engine's threads may ask for a connector at once

    def need(self, kind: Kind, name: str | None) -> None:
        """Load what may provide ``name`` of ``kind``: the entry point of that name for a connector
        or an emulator, then, if that was not it, every entry point not loaded yet (``None``: every
        one)."""
        with self.lock:
            if name is not None and kind != "transforms":
                self.load(kind, [name])
            if name is None or name not in self.stores[kind]:
                self.load(kind, list(self.pending))

    def load(self, kind: Kind, names: list[str]) -> None:
        for name in names:
            ep = self.pending.pop(name, None)
            if ep is None:
                continue
            dist = ep.dist.name if ep.dist is not None else "?"
            version = ep.dist.version if ep.dist is not None else "?"
            try:
                module = ep.load()
            except Exception as exc:  # a third party's import error must not take syncfw down
                self.problem(f"{ep.name} ({dist}): failed to import {ep.value}: {exc}")
                continue
            self.register(module, PluginInfo(ep.name, dist, version))
        if kind == "emulators":
            self.collect_emulators()

    def register(self, module: object, info: PluginInfo) -> None:
        # one manager per plugin: a misspelled hook (check_pending) or a failing hook disables
        # that plugin only, with a warning naming it
        pm = pluggy.PluginManager("syncfw")
        pm.add_hookspecs(hookspecs)
        try:
            pm.register(module, name=info.name)
            pm.check_pending()
        except (ValueError, pluggy.PluginValidationError) as exc:
            self.problem(f"{info.name} ({info.distribution}): {exc}")
            return
        try:
            pm.hook.register_connectors(register=functools.partial(self.add_connector, info))
            pm.hook.register_transforms(register=functools.partial(self.add_transform, info))
        except Exception as exc:
            self.problem(f"{info.name} ({info.distribution}): a registration hook failed: {exc}")
            return
        self.registry.plugins.append(info)
        self.emulators_due.append((pm, info))

    def collect_emulators(self) -> None:
        while self.emulators_due:
            pm, info = self.emulators_due.pop(0)
            try:
                pm.hook.register_emulators(register=functools.partial(self.add_emulator, info))
            except Exception as exc:
                self.problem(f"{info.name} ({info.distribution}): a registration hook failed: {exc}")

    def problem(self, message: str) -> None:
        self.registry.problems.append(message)
        self.report(message)

    def add_connector(self, info: PluginInfo, cls: type[Connector]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Connector)):
            self.problem(f"{info.name}: register_connectors got {cls!r}, not a Connector class")
        elif cls.name in self.connectors:
            self.problem(f"{info.name}: connector {cls.name!r} is already registered")
        else:
            self.connectors[cls.name] = cls
            info.connectors.append(cls.name)

    def add_emulator(self, info: PluginInfo, cls: type[SourceEmulator]) -> None:
        if not (isinstance(cls, type) and issubclass(cls, SourceEmulator)):
            self.problem(f"{info.name}: register_emulators got {cls!r}, not a SourceEmulator")
        else:
            self.emulators[cls.name] = cls
            info.emulators.append(cls.name)

    def add_transform(self, info: PluginInfo, name: str, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            self.problem(f"{info.name}: transform {name!r} is not callable")
        elif name in self.transforms:
            self.problem(f"{info.name}: transform {name!r} is already registered")
        else:
            self.transforms[name] = fn
            info.transforms.append(name)


def _warn(problem: str) -> None:
    warnings.warn(problem, PluginWarning, stacklevel=2)


def load_plugins(*, on_demand: bool = False, report: Callable[[str], None] = _warn) -> Registry:
    """Load the built-in plugins and the allowed entry points; return what they registered.

    Args:
        on_demand: import each entry point only when something it may provide is asked for (see
            the module's docstring); otherwise every allowed one now.
        report: called with each problem (a plugin that failed to import or registered something
            invalid) when it is found; by default a :class:`PluginWarning`.

    Never raises for a broken plugin: its error is kept in ``Registry.problems`` and reported.
    """
    from syncfw import __version__
    from syncfw.mapping import transforms as builtin_transforms

    loader = _Loader(
        sorted((ep for ep in entry_points(group=ENTRY_POINT_GROUP) if _wanted(ep)), key=lambda e: e.name),
        report,
    )
    loader.register(builtin_transforms, PluginInfo("syncfw", "syncfw", __version__))
    if not on_demand:
        loader.need("emulators", None)  # every plugin, and its emulators
    return loader.registry
