"""The state store: what syncfw knows between runs.

One SQLite file per recipe (``state.path`` in the recipe, default ``.syncfw/<recipe>.sqlite``)
holds the identity map (sync key → Notion page), what syncfw last wrote for every owned
property (the value, or a digest of a long one: :mod:`syncfw.state.written`), the cursor of every stream, the resolved Notion ids of each target, the Notion read
watermark, and the run history. Every change happens inside :meth:`StateStore.transaction`,
which commits or rolls back as a whole. A failure to read or write the store raises
:class:`syncfw.errors.StateError` and ends the run.

What a backend offers is two protocols (:mod:`syncfw.state.protocol`): :class:`SyncState`, what
the engine reads and writes, and :class:`RunHistory`, what health and the command line show.
:class:`StateBackend` is both in one, with one ``transaction()`` for both kinds of writes;
:class:`StateStore` is the SQLite backend (:mod:`syncfw.state.sqlite`), ``PostgresStore`` the
PostgreSQL one (:mod:`syncfw.state.postgres`, a schema per recipe); :func:`open_state` opens a
recipe's state where its ``state:`` or ``SYNCFW_STATE_URL`` says, :func:`run_lock` its run lock
(a kernel lock beside a SQLite file, an advisory lock on PostgreSQL). Modules:
``protocol`` (the protocols and the records they answer), ``schema`` (ordered migrations),
``dialect`` (what differs between SQL databases), ``sql`` (what the SQL parts share),
``written`` (how last written values are kept), ``reads``
and ``writes`` (the engine's part in SQL), ``history`` (the run history in SQL), ``connection``
(what both backends' stores share), ``sqlite`` (the connection, transactions and disk errors),
``postgres``, ``transaction`` (the writes of one transaction, on any PEP 249 driver), ``open``
(where a recipe's state is), ``lock`` (the run lock), ``migrate`` (moving a state from SQLite to
PostgreSQL).
"""

from syncfw.state.lock import RunLock
from syncfw.state.open import existing_state, open_state, run_lock
from syncfw.state.protocol import (
    HistoryTransaction,
    JournalEntry,
    NotionRead,
    OperationRecord,
    PageEntry,
    QuarantinedRecord,
    RunHistory,
    RunRecord,
    StateBackend,
    StoreTransaction,
    SyncState,
    SyncTransaction,
)
from syncfw.state.sqlite import StateStore
from syncfw.state.transaction import Transaction

__all__ = [
    "HistoryTransaction",
    "JournalEntry",
    "NotionRead",
    "OperationRecord",
    "PageEntry",
    "QuarantinedRecord",
    "RunHistory",
    "RunLock",
    "RunRecord",
    "StateBackend",
    "StateStore",
    "StoreTransaction",
    "SyncState",
    "SyncTransaction",
    "Transaction",
    "existing_state",
    "open_state",
    "run_lock",
]
