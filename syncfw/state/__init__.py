"""The state store: what syncfw knows between runs.

One SQLite file per recipe (``state.path`` in the recipe, default ``.syncfw/<recipe>.sqlite``)
holds the identity map (sync key → Notion page), the last value syncfw wrote for every owned
property, the cursor of every stream, the resolved Notion ids of each target, and the run history.
Every change happens inside :meth:`StateStore.transaction`, which commits or rolls back as a whole.
A failure to read or write the store raises :class:`syncfw.errors.StateError` and ends the run.
"""

from syncfw.state.lock import RunLock
from syncfw.state.store import JournalEntry, PageEntry, QuarantinedRecord, RunRecord, StateStore

__all__ = ["JournalEntry", "PageEntry", "QuarantinedRecord", "RunLock", "RunRecord", "StateStore"]
