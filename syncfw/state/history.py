"""Run history in the state store (:class:`syncfw.state.protocol.RunHistory`), in SQL: runs and
their operations, source reads, alert states and settings, which health and the command line show.

A run's row keeps its report as ``summary`` JSON, bounded whatever the run's size (counts and a
sample of operations); every operation is a row of ``run_operations`` (what it was and which
page), added in batches, its values read from the journal while retention keeps them there. Retention
(:meth:`HistoryWrites.prune`) removes runs beyond a number and settled journal entries beyond an
age, each with one DELETE, and records in the setting :data:`JOURNAL_KEPT_SINCE` how far back the
journal (and so ``syncfw rollback``) still reaches."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from syncfw.state.dialect import Dialect, marks
from syncfw.state.protocol import OperationRecord, RunRecord
from syncfw.state.sql import SqlReader, SqlWriter, chunks

JOURNAL_KEPT_SINCE = "journal_kept_since"
"""The setting holding the instant (ISO 8601 UTC, milliseconds) before which settled journal
entries were pruned: the newest cutoff retention ever used, so it never moves back."""
_RUN_COLUMNS = "run_id, recipe, command, started_at, finished_at, status, exit_code, summary, error"
_NEWEST_FIRST = "started_at DESC, COALESCE(seq, 0) DESC"
"""Runs newest first: ``started_at`` keeps whole seconds, ``seq`` the order they started in (runs
recorded before schema 11 have none)."""

UNRECORDED_END = (
    "the run could not record its end (it was killed, or the disk under the state store was full); "
    "the next run settled the writes it had made"
)
"""The error given to a run the next run finds still ``running`` (its status becomes ``failed``)."""


def _record(row: Sequence[Any]) -> RunRecord:
    summary = json.loads(row[7]) if row[7] else None
    return RunRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], summary, row[8])


class HistoryReads(SqlReader):
    """Reads of the run history."""

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first (runs started in the same second in the order they
        started)."""
        rows = self._query(f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY {_NEWEST_FIRST} LIMIT ?", (limit,))
        return [_record(r) for r in rows]

    def last_run(self, command: str) -> RunRecord | None:
        """The most recent row of ``command`` (``run``, ``renew``, ``reset``), or None."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE command = ? ORDER BY {_NEWEST_FIRST} LIMIT 1", (command,)
        )
        return _record(rows[0]) if rows else None

    def oldest_run(self, *, command: str, since: str | None) -> RunRecord | None:
        """The oldest row of ``command`` that started at or after ``since`` (any, with None)."""
        rows = self._query(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE command = ? AND started_at >= ? "
            "ORDER BY started_at, COALESCE(seq, 0) LIMIT 1",
            (command, since or ""),
        )
        return _record(rows[0]) if rows else None

    def operations(self, run_id: str, *, after_seq: int = 0, limit: int = 1000) -> list[OperationRecord]:
        """Up to ``limit`` operations of run ``run_id`` following ``after_seq``, in order (page
        through a run of any size by passing the last ``seq`` seen). Their ``before``/``after``
        are the journal's entries of that run and page (merged: the first ``before``, the last
        ``after`` of each property), empty once retention pruned them."""
        rows = self._query(
            "SELECT seq, target, action, sync_key, page_id FROM run_operations "
            "WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, limit),
        )
        values: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for target in dict.fromkeys(str(r[1]) for r in rows):
            for chunk in chunks(dict.fromkeys(str(r[3]) for r in rows if r[1] == target)):
                for key, before, after in self._query(
                    "SELECT sync_key, before, after FROM journal WHERE target = ? AND sync_key IN "
                    f"({marks(len(chunk))}) AND run_id = ? AND action <> 'cursor' ORDER BY seq",
                    (target, *chunk, run_id),
                ):
                    merged = values.setdefault((target, str(key)), ({}, {}))
                    merged[0].update({k: v for k, v in json.loads(before).items() if k not in merged[0]})
                    merged[1].update(json.loads(after))
        return [
            OperationRecord(int(r[0]), r[1], r[2], r[3], r[4], *values.get((r[1], r[3]), ({}, {})))
            for r in rows
        ]

    def all_operations(self, run_id: str, batch: int = 1000) -> Iterator[OperationRecord]:
        """Every operation of run ``run_id`` in order, read ``batch`` at a time."""
        after = 0
        while page := self.operations(run_id, after_seq=after, limit=batch):
            yield from page
            after = page[-1].seq

    def operation_counts(self, run_ids: Iterable[str]) -> dict[str, int]:
        """Run id → number of operations kept for it (runs with none are left out)."""
        counts: dict[str, int] = {}
        for chunk in chunks(run_ids):
            rows = self._query(
                f"SELECT run_id, COUNT(*) FROM run_operations WHERE run_id IN ({marks(len(chunk))}) "
                "GROUP BY run_id",
                tuple(chunk),
            )
            counts.update({str(r[0]): int(r[1]) for r in rows})
        return counts

    def journal_kept_since(self) -> str | None:
        """The instant (ISO 8601 UTC) before which settled journal entries were pruned; None when
        the journal was never pruned."""
        return self.setting(JOURNAL_KEPT_SINCE)

    def source_reads(self) -> list[tuple[str, str, str, str, str | None, str | None]]:
        """Every stream read as (target, source, stream, last_attempt, last_success, last_error);
        a success is a read that reached the end of its stream."""
        rows = self._query(
            "SELECT target, source, stream, last_attempt, last_success, last_error FROM source_reads "
            "ORDER BY 2, 3, 1"
        )
        return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def alert_states(self) -> dict[tuple[str, str], tuple[str, str]]:
        """(event, subject) → (state, since) of every alert syncfw has sent or cleared."""
        rows = self._query("SELECT event, subject, state, since FROM alerts")
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    def setting(self, name: str) -> str | None:
        """A value syncfw keeps between runs (e.g. when a target was last reconciled)."""
        rows = self._query("SELECT value FROM settings WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None


class HistoryWrites(SqlWriter):
    """Writes of the run history, inside one open transaction."""

    dialect: Dialect

    def read_attempted(self, target: str, source: str, stream: str, when: str) -> None:
        self._execute(
            self.dialect.upsert(
                "source_reads",
                ("target", "source", "stream", "last_attempt"),
                ("target", "source", "stream"),
            ),
            (target, source, stream, when),
        )

    def read_finished(self, target: str, source: str, stream: str, when: str, error: str | None) -> None:
        """Record the end of a read: a success (``error`` None) or the one-line reason it failed."""
        if error is None:
            self._execute(
                "UPDATE source_reads SET last_success = ?, last_error = NULL WHERE target = ? AND source = ? "
                "AND stream = ?",
                (when, target, source, stream),
            )
        else:
            self._execute(
                "UPDATE source_reads SET last_error = ? WHERE target = ? AND source = ? AND stream = ?",
                (error, target, source, stream),
            )

    def set_alert_state(self, event: str, subject: str, state: str, since: str) -> None:
        self._execute(
            self.dialect.upsert("alerts", ("event", "subject", "state", "since"), ("event", "subject")),
            (event, subject, state, since),
        )

    def set_setting(self, name: str, value: str) -> None:
        self._execute(self.dialect.upsert("settings", ("name", "value"), ("name",)), (name, value))

    def end_unfinished_runs(self, now: str) -> None:
        """Record as ``failed`` (exit 1, :data:`UNRECORDED_END`) every run still ``running``: call
        it only while holding the run lock, when no other run can be going on."""
        self._execute(
            "UPDATE runs SET finished_at = ?, status = 'failed', exit_code = 1, error = ? WHERE status = 'running'",
            (now, UNRECORDED_END),
        )

    def start_run(self, run_id: str, recipe: str, command: str, started_at: str) -> None:
        """Add a run to the history, ``running``."""
        self._execute(
            "INSERT INTO runs (run_id, recipe, command, started_at, status, seq) "
            "VALUES (?, ?, ?, ?, 'running', (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs))",
            (run_id, recipe, command, started_at),
        )

    def add_operations(self, run_id: str, operations: Iterable[OperationRecord]) -> int:
        """Keep operations of run ``run_id`` (any number, in as many calls as wanted: each ``seq``
        once); returns how many were added. ``operations`` is consumed as it is written. Their
        ``before``/``after`` are not kept again: the journal holds them (:meth:`operations`)."""
        added = 0

        def rows() -> Iterator[tuple[Any, ...]]:
            nonlocal added
            for op in operations:
                added += 1
                yield (run_id, op.seq, op.target, op.action, op.sync_key, op.page_id)

        self._executemany(
            "INSERT INTO run_operations (run_id, seq, target, action, sync_key, page_id) VALUES (?, ?, ?, ?, ?, ?)",
            rows(),
        )
        return added

    def prune(self, *, keep_runs: int, journal_before: str) -> None:
        """Forget the history beyond the ``keep_runs`` most recent runs (rows, and their
        operations; a run still ``running`` is the most recent; runs started in the same second
        in the order they started) and the settled journal entries created before ``journal_before``
        (ISO 8601 UTC of a whole second, ``…:01.000Z``: the journal records some entries to the
        second, which then compare as their second's start); open intents are always kept. Moves :data:`JOURNAL_KEPT_SINCE`
        forward to ``journal_before`` (never back)."""
        beyond = (  # a run still going (the one pruning) counts as the newest
            "SELECT run_id FROM runs WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY "
            f"CASE WHEN status = 'running' THEN 0 ELSE 1 END, {_NEWEST_FIRST}, run_id DESC LIMIT ?)"
        )
        self._execute(f"DELETE FROM run_operations WHERE run_id IN ({beyond})", (keep_runs,))
        self._execute(f"DELETE FROM runs WHERE run_id IN ({beyond})", (keep_runs,))
        self._execute("DELETE FROM journal WHERE status <> 'open' AND created_at < ?", (journal_before,))
        newer = "CASE WHEN excluded.value > settings.value THEN excluded.value ELSE settings.value END"
        self._execute(
            self.dialect.upsert("settings", ("name", "value"), ("name",), {"value": newer}),
            (JOURNAL_KEPT_SINCE, journal_before),
        )

    def finish_run(
        self,
        run_id: str,
        *,
        finished_at: str,
        status: str,
        exit_code: int,
        summary: dict[str, Any],
        error: str | None,
    ) -> None:
        self._execute(
            "UPDATE runs SET finished_at = ?, status = ?, exit_code = ?, summary = ?, error = ? WHERE run_id = ?",
            (finished_at, status, exit_code, json.dumps(summary), error, run_id),
        )
