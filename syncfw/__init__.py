"""syncfw: keep Notion data sources fed from the systems that own the data.

The public API is what ``__all__`` lists; everything else may change between releases. A
connector distribution uses only these names and the modules :mod:`syncfw.connector` (the
contract), :mod:`syncfw.emulation` (building a source emulator) and :mod:`syncfw.testing` (the
acceptance kit). Errors are reached from here (``from syncfw import SourceError``); their tree,
and what a caller should do about each, is drawn in :mod:`syncfw.errors`.

The errors are imported with the package; the other names on first use (:data:`_LAZY`), so that
``syncfw --version`` and ``syncfw --help`` load neither pydantic, tenacity nor pluggy.
"""

import importlib
from typing import TYPE_CHECKING, Any

from syncfw.errors import (
    AlertNotDelivered,
    Ambiguous,
    AmbiguousWrite,
    BudgetUnavailable,
    ConfigError,
    DashboardUnavailable,
    GuardStop,
    IncompleteRead,
    KeyScanUnsupported,
    LockHeld,
    NotionAuthError,
    NotionError,
    NotionNotFound,
    NotionRejected,
    PluginWarning,
    Problem,
    RecordProblem,
    Retriable,
    Skippable,
    SourceAuthError,
    SourceError,
    SourceLimitExceeded,
    SourceUnavailable,
    StateError,
    SyncfwError,
    UnsafeBudgetDirectory,
)

if TYPE_CHECKING:
    from syncfw.connector import (
        Checkpoint,
        Connector,
        EmulatorContext,
        HeaderSecret,
        Record,
        SourceEmulator,
        StreamSpec,
    )
    from syncfw.durations import Duration
    from syncfw.hookspecs import hookimpl
    from syncfw.recipe_paths import RecipePath

__version__ = "0.1.0"

_LAZY = {
    **dict.fromkeys(
        (
            "Checkpoint",
            "Connector",
            "EmulatorContext",
            "HeaderSecret",
            "Record",
            "SourceEmulator",
            "StreamSpec",
        ),
        "syncfw.connector",
    ),
    "Duration": "syncfw.durations",
    "hookimpl": "syncfw.hookspecs",
    "RecipePath": "syncfw.recipe_paths",
}
"""Public name → the module it is imported from when first asked for (PEP 562)."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'syncfw' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AlertNotDelivered",
    "Ambiguous",
    "AmbiguousWrite",
    "BudgetUnavailable",
    "Checkpoint",
    "ConfigError",
    "Connector",
    "DashboardUnavailable",
    "Duration",
    "EmulatorContext",
    "GuardStop",
    "HeaderSecret",
    "IncompleteRead",
    "KeyScanUnsupported",
    "LockHeld",
    "NotionAuthError",
    "NotionError",
    "NotionNotFound",
    "NotionRejected",
    "PluginWarning",
    "Problem",
    "RecipePath",
    "Record",
    "RecordProblem",
    "Retriable",
    "Skippable",
    "SourceAuthError",
    "SourceEmulator",
    "SourceError",
    "SourceLimitExceeded",
    "SourceUnavailable",
    "StateError",
    "StreamSpec",
    "SyncfwError",
    "UnsafeBudgetDirectory",
    "__version__",
    "hookimpl",
]
