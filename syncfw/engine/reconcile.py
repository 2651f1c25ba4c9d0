"""Reconciliation: finding the records a source deleted without leaving a tombstone.

An incremental read sees a delete only while the source still reports it: Salesforce's
``queryAll`` returns a deleted row while it sits in the Recycle Bin (15 days, then it is purged;
a hard delete or an emptied bin never shows), HubSpot lists archived objects for 90 days. A sync
paused longer than that, a hard delete or an emptied bin would leave the Notion page live for
ever. Reconciliation asks the connector for every key that exists now
(:meth:`syncfw.connector.Connector.scan_keys`) and compares it with the keys syncfw keeps state
for; a key held in state and absent at the source is planned exactly as a delete the source
reported: the target's ``on_delete``, only for pages syncfw created, under the mass-change guard.

It runs on one run in a target's ``reconcile_every`` (default 24) and on ``--reconcile``.
Nothing is reconciled from a scan that failed, that the connector does not offer, or that listed
no key at all while state holds some (like an empty read, DESIGN.md rule 5).

Cost: the source's requests for a key scan (Salesforce: one query per 2,000 ids; HubSpot: one
list request per 100 objects), and memory for the scanned keys while the target is planned (a
set of strings, about 100 bytes per key). It costs Notion nothing beyond the writes it plans.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from syncfw.connector import Connector, Record
from syncfw.errors import KeyScanUnsupported, SourceError
from syncfw.recipe import BoundMapping, Target
from syncfw.state import StateBackend, StoreTransaction


@dataclass
class Reconciliation:
    """What the key scan of one mapping's stream found.

    Attributes:
        mapping, source, stream: whose records were checked.
        scanned: how many keys the source listed.
        gone: keys syncfw holds state for that the source no longer has (handled as deletes).
        error: why nothing was reconciled for this stream (scan failed, unsupported, empty).
    """

    mapping: str
    source: str
    stream: str
    scanned: int = 0
    gone: list[str] = field(default_factory=list)
    error: str | None = None

    def deletes(self) -> list[Record]:
        """The gone keys as records deleted at the source, for the planner."""
        return [Record(self.stream, key, {}, deleted=True) for key in self.gone]

    def as_dict(self) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "source": self.source,
            "stream": self.stream,
            "keys_scanned": self.scanned,
            "gone": len(self.gone),
            "gone_keys": self.gone[:100],
            "error": self.error,
        }


def reconcile_stream(
    store: StateBackend, target: Target, mapping: BoundMapping, connector: Connector
) -> Reconciliation:
    """Scan ``mapping``'s stream and list the keys of ``target``'s state that are gone from it.

    The keys compared are the target's page sync keys for the primary mapping, and the record
    keys a secondary or aggregating mapping matched, counted or kept unmatched otherwise.
    """
    found = Reconciliation(mapping.name, mapping.source, mapping.stream)
    where = f"{mapping.source}/{mapping.stream}"
    try:
        existing = set(connector.scan_keys(mapping.stream))
    except KeyScanUnsupported as exc:
        found.error = f"{exc}: records deleted there without a tombstone are not reconciled"
        return found
    except SourceError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        found.error = f"the key scan of {where} failed, so nothing was reconciled: {first}"
        return found
    found.scanned = len(existing)
    primary = mapping.match is None
    for batch in store.iter_record_keys(target.name, None if primary else mapping.name):
        found.gone += [key for key in batch if key not in existing]
    if not existing and found.gone:
        found.error = (
            f"the key scan of {where} listed no record while syncfw holds {len(found.gone)}: nothing "
            "is reconciled after an empty scan"
        )
        found.gone = []
    return found


def _setting(target: str) -> str:
    return f"reconcile:{target}"


def runs_since_reconciled(store: StateBackend, target: Target) -> int | None:
    """How many runs applied since ``target`` was last reconciled (None: never)."""
    value = store.setting(_setting(target.name))
    return None if value is None else int(json.loads(value)["since"])


def reconcile_due(store: StateBackend, target: Target, *, asked: bool) -> bool:
    """Whether this run reconciles ``target``: when asked, or on one run in ``reconcile_every``
    (a target syncfw already holds state for but never reconciled is due at once)."""
    if asked:
        return True
    if target.reconcile_every == 0:
        return False
    since = runs_since_reconciled(store, target)
    return since is None or since >= target.reconcile_every - 1


def record_reconciled(
    tx: StoreTransaction, store: StateBackend, target: Target, *, reconciled: bool, at: str
) -> None:
    """Count this applied run towards the next scheduled reconciliation of ``target``, in ``tx``."""
    since = runs_since_reconciled(store, target)
    value = 0 if reconciled or since is None else since + 1
    tx.set_setting(_setting(target.name), json.dumps({"at": at, "since": value}))
