"""Run history in the state store (:class:`syncfw.state.protocol.RunHistory`), in SQL: runs,
source reads, alert states and settings, which health and the command line show."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from syncfw.state.dialect import Dialect
from syncfw.state.protocol import RunRecord
from syncfw.state.sql import SqlReader, SqlWriter

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
        """The most recent runs, newest first."""
        rows = self._query(
            "SELECT run_id, recipe, command, started_at, finished_at, status, exit_code, summary, error "
            "FROM runs ORDER BY started_at DESC LIMIT ?",
            (limit,),
        )
        return [_record(r) for r in rows]

    def last_run(self, command: str) -> RunRecord | None:
        """The most recent row of ``command`` (``run``, ``renew``, ``reset``), or None."""
        rows = self._query(
            "SELECT run_id, recipe, command, started_at, finished_at, status, exit_code, summary, error "
            "FROM runs WHERE command = ? ORDER BY started_at DESC LIMIT 1",
            (command,),
        )
        return _record(rows[0]) if rows else None

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
            "INSERT INTO runs (run_id, recipe, command, started_at, status) VALUES (?, ?, ?, ?, 'running')",
            (run_id, recipe, command, started_at),
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
