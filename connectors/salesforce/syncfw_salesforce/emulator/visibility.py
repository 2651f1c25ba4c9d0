"""What the emulated org's queries can see: the Recycle Bin and transactions not yet committed.

**Recycle Bin.** A deleted record stays in the Recycle Bin, where ``queryAll`` returns it with
``IsDeleted = true``, for 15 days; then it is permanently deleted and no query returns it. An
org's bin holds 5,000 records per user license; when it is full, Salesforce removes the oldest
records that have been in it at least two hours. Emptying the bin (``emptyRecycleBin()``) or a
hard delete removes records at once (SOAP API Developer Guide, "emptyRecycleBin()",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm;
Apex Developer Guide, "Restoring Deleted Records"; REST API Developer Guide, "Get a List of Deleted
Records Within a Given Timeframe": no more than 15 days back). Salesforce may keep returning
emptied rows from ``queryAll`` for about a day; the emulator drops them at once, the stricter
behaviour, since a client cannot count on that day.

The emulator's seed files carry no deletion time, so a record's time in the bin counts on the
org's clock from when the org first saw it with ``IsDeleted = true``.

**Late commits.** ``SystemModstamp`` is stamped when a transaction starts, and its rows become
visible when it commits, possibly after rows stamped later were already read (SOAP API Developer
Guide, "GetUpdatedResult": ``latestDateCovered`` covers "changes that started after this date
but did not complete"; a transaction runs up to 10 minutes, Apex "Execution Governors and
Limits"). :class:`PendingCommits` holds the version of a record that queries saw when its
transaction began until the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

RECYCLE_BIN_RETENTION = timedelta(days=15)
"""How long a deleted record stays in the Recycle Bin (``emptyRecycleBin()``: 15 days)."""
RECYCLE_BIN_CAPACITY = 10_000
"""Records the Recycle Bin holds: 5,000 per user license, for an org of two licenses."""
RECYCLE_BIN_MINIMUM_STAY = timedelta(hours=2)
"""A full bin removes only records that have been in it at least this long."""

RecordKey = tuple[str, str]
"""(sObject name, 15-character Id): Salesforce Ids compare equal in 15- and 18-character forms."""


def record_key(sobject: str, record_id: str) -> RecordKey:
    """The key of a record in the bookkeeping here."""
    return (sobject, record_id[:15])


class RecycleBin:
    """Deleted records, when each entered the bin, and the records permanently deleted.

    Args:
        retention: how long a record stays in the bin (default 15 days).
        capacity: how many records the bin holds before the oldest go (default 10,000).

    Times are seconds on the org's clock. Not thread-safe: the org calls it under its lock.
    """

    def __init__(
        self, retention: timedelta = RECYCLE_BIN_RETENTION, capacity: int = RECYCLE_BIN_CAPACITY
    ) -> None:
        if retention < timedelta(0) or capacity < 0:
            raise ValueError("the Recycle Bin's retention and capacity cannot be negative")
        self.retention = retention
        self.capacity = capacity
        self._entered: dict[RecordKey, float] = {}
        self._purged: set[RecordKey] = set()

    def observe(self, sobject: str, records: Iterable[Mapping[str, Any]], now: float) -> None:
        """Note which records of ``sobject`` are deleted now (those undeleted leave the bin)."""
        for record in records:
            key = record_key(sobject, str(record["Id"]))
            if key in self._purged:
                continue
            if record.get("IsDeleted"):
                self._entered.setdefault(key, now)
            else:
                self._entered.pop(key, None)

    def expire(self, now: float) -> bool:
        """Permanently delete what has been in the bin longer than the retention, then the oldest
        records past the capacity (if in the bin two hours or more). True when any went."""
        gone = [
            key for key, entered in self._entered.items() if now - entered >= self.retention.total_seconds()
        ]
        excess = len(self._entered) - len(gone) - self.capacity
        if excess > 0:
            oldest = sorted((entered, key) for key, entered in self._entered.items() if key not in gone)
            minimum = RECYCLE_BIN_MINIMUM_STAY.total_seconds()
            gone += [key for entered, key in oldest[:excess] if now - entered >= minimum]
        self._purge(gone)
        return bool(gone)

    def empty(self) -> int:
        """Permanently delete every record in the bin; return how many there were."""
        count = len(self._entered)
        self._purge(list(self._entered))
        return count

    def hard_delete(self, key: RecordKey) -> None:
        """Permanently delete one record, in the bin or not."""
        self._purge([key])

    def purged(self, key: RecordKey) -> bool:
        """True when the record is permanently deleted (no query returns it again)."""
        return key in self._purged

    def _purge(self, keys: Iterable[RecordKey]) -> None:
        for key in keys:
            self._entered.pop(key, None)
            self._purged.add(key)


class PendingCommits:
    """Records changed by transactions that have not committed: queries keep seeing the version
    they saw when the transaction began (nothing, for a record the transaction creates)."""

    def __init__(self) -> None:
        self._before: dict[RecordKey, dict[str, Any] | None] = {}

    def begin(self, key: RecordKey, visible: Mapping[str, Any] | None) -> None:
        """A transaction starts changing the record; ``visible`` is what queries see now."""
        self._before.setdefault(key, dict(visible) if visible is not None else None)

    def commit(self, key: RecordKey) -> None:
        """The transaction commits: queries see the record as the seed file holds it.

        Raises:
            KeyError: no transaction is open on the record.
        """
        del self._before[key]

    def pending(self, key: RecordKey) -> bool:
        """True while a transaction on the record has not committed."""
        return key in self._before

    def before(self, key: RecordKey) -> dict[str, Any] | None:
        """The version queries see while the transaction is open (None: no record yet)."""
        return self._before[key]


def visible_records(
    sobject: str, records: Iterable[dict[str, Any]], recycle_bin: RecycleBin, pending: PendingCommits
) -> list[dict[str, Any]]:
    """The records of ``sobject`` that queries see: permanently deleted ones left out, those
    under an open transaction as they were before it."""
    shown: list[dict[str, Any]] = []
    for record in records:
        key = record_key(sobject, str(record["Id"]))
        if recycle_bin.purged(key):
            continue
        if pending.pending(key):
            before = pending.before(key)
            if before is not None:
                shown.append(before)
            continue
        shown.append(record)
    return shown
