"""Recording a target's run in the state store: what planning learnt, the writes' outcome, and
the cursors, in one transaction (:func:`commit_target`).

Each write was already journaled and settled as it was made (:mod:`syncfw.engine.apply`); what is
committed here only ever follows the writes, so a crash before it loses nothing the next run
cannot read again: its cursors are still before the records.
"""

from __future__ import annotations

from syncfw.clock import now_iso
from syncfw.connector import Record
from syncfw.engine.model import ApplyResult, Quarantine, StateDelta
from syncfw.engine.reads import ReadLedger
from syncfw.state import QuarantinedRecord, StateBackend, StoreTransaction


def commit_target(
    tx: StoreTransaction,
    store: StateBackend,
    *,
    target: str,
    run_id: str,
    delta: StateDelta,
    result: ApplyResult,
    ledger: ReadLedger,
) -> None:
    """Record, inside ``tx``, the values Notion agrees with, the numbers of pages read, relation
    keys, matches, members and unmatched records of ``delta``; the quarantine (the delta's and the rejected writes' records);
    and each stream's cursor, advanced to its newest checkpoint before the first record whose
    write did not happen (``result.held``), the old cursor journaled so that ``syncfw rollback``
    can rewind it.

    Raises:
        StateError: the store cannot be read (the transaction rolls back).
    """
    stamp = now_iso("milliseconds")
    for key, (page_id, values) in delta.agreed.items():
        tx.set_page(target, key, page_id, created_by_syncfw=False)
        tx.set_written(target, key, dict(values))
    for key, (page_id, number) in delta.numbers.items():
        tx.set_number(target, key, page_id, number)
    for key, keys in delta.relation_keys.items():
        tx.set_relation_keys(target, key, dict(keys))
    for mapping, matches in delta.matches.items():
        for record_key, page_key in matches.items():
            tx.set_match(target, mapping, record_key, page_key)
    for mapping, members in delta.members.items():
        for record_key, member in members.items():
            tx.set_member(target, mapping, record_key, member)
    for mapping, records in delta.unmatched.items():
        for record_key, data in records.items():
            tx.set_unmatched(target, mapping, record_key, data)
    rejected = [
        Quarantine(r.mapping, r.record, r.problem)
        for r in result.rejections
        if r.mapping is not None and r.record is not None
    ]
    # a quarantined record whose write was held stays quarantined: the cursor may be past it
    held = {
        (mapping, record.key)
        for mapping, positions in (result.held.items() if delta.released else ())
        for position in positions
        if (record := _record(ledger, mapping, position)) is not None
    }
    for mapping, record_key in delta.released - {(q.mapping, q.record.key) for q in rejected} - held:
        tx.release(target, mapping, record_key)
    for q in (*delta.quarantine, *rejected):
        problem = q.problem
        tx.quarantine(
            QuarantinedRecord(
                target,
                q.mapping,
                q.record.key,
                problem.source,
                problem.stream,
                problem.property,
                problem.reason,
                dict(q.record.data),
                q.record.deleted,
                stamp,
                stamp,
                1,
            )
        )
    for stream, cursor in ledger.cursors(result.held).values():
        old = store.cursor(target, stream.source, stream.stream)
        if old == cursor:
            continue
        seq = tx.open_intent(
            run_id,
            target,
            "cursor",
            f"{stream.source}/{stream.stream}",
            None,
            {"cursor": old},
            {"cursor": cursor},
            now_iso(),
        )
        tx.set_cursor(target, stream.source, stream.stream, cursor, now_iso())
        tx.settle(seq, "applied", now_iso())


def _record(ledger: ReadLedger, mapping: str, position: int) -> Record | None:
    """The record at ``position`` of ``mapping``'s read, if the ledger still has it (in memory or
    with the creates on disk: :class:`~syncfw.engine.spill.SpilledRecords`)."""
    try:
        return ledger.streams[mapping].records[position]
    except KeyError:
        return None
