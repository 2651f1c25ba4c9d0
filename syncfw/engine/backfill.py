"""Backfills: a large import spread over many ordinary runs by a cap on each run's page writes.

``syncfw run --max-writes N`` (or the recipe's ``max_writes:``) ends a run after N page writes
(creates, updates and archives; Sync Health rows do not count), and a target's ``max_writes:``
caps that target's writes in each run. The writes not sent keep their records' cursors back
(:attr:`~syncfw.engine.model.ApplyResult.held`), so the next run reads them again and plans them
again; what was written is then unchanged (the three-way diff finds S = L = N) and costs nothing.

A run that leaves writes for later is *capped*: it succeeds (exit 0; it did what it was asked),
and its report carries a :class:`Backfill` that the next runs carry on, so ``syncfw status``
shows how far a backfill has gone and how long the rest takes at the token's rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from syncfw.clock import short
from syncfw.state import RunRecord

__all__ = ["Backfill", "WriteCap", "latest_backfill"]


@dataclass(frozen=True)
class Backfill:
    """How far a backfill has gone, as of one run.

    Attributes:
        max_writes: the run's cap (None: only targets' ``max_writes`` capped it).
        written: page writes this run sent.
        remaining: writes this run planned and left to the next runs, in the targets it reached.
        not_reached: targets the run did not plan because its cap was spent before them (their
            writes are not counted in ``remaining``).
        total_written: page writes sent by the runs of this backfill, this one included.
        runs: runs of this backfill so far, this one included.
        started_at: when its first run started (ISO 8601 UTC).
    """

    max_writes: int | None
    written: int
    remaining: int
    not_reached: tuple[str, ...]
    total_written: int
    runs: int
    started_at: str

    @property
    def finished(self) -> bool:
        """The run left nothing for later: the backfill is done."""
        return self.remaining == 0 and not self.not_reached

    @classmethod
    def of_run(
        cls,
        previous: Backfill | None,
        *,
        max_writes: int | None,
        written: int,
        remaining: int,
        not_reached: tuple[str, ...],
        started_at: str,
    ) -> Backfill | None:
        """This run's backfill: a new one when it is capped, the previous one carried on when that
        one was unfinished, None when neither (an ordinary run)."""
        going_on = previous is not None and not previous.finished
        if not going_on and remaining == 0 and not not_reached:
            return None
        return cls(
            max_writes,
            written,
            remaining,
            not_reached,
            written + (previous.total_written if previous is not None and going_on else 0),
            1 + (previous.runs if previous is not None and going_on else 0),
            previous.started_at if previous is not None and going_on else started_at,
        )

    @classmethod
    def from_summary(cls, summary: dict[str, Any] | None) -> Backfill | None:
        """The backfill of a run summary as stored in run history (None when it has none)."""
        data = (summary or {}).get("backfill")
        if not isinstance(data, dict):
            return None
        return cls(**{**data, "not_reached": tuple(data.get("not_reached", ()))})

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "not_reached": list(self.not_reached)}

    def eta(self, rate: float) -> timedelta:
        """How long the remaining writes take at ``rate`` requests per second (one request each)."""
        return timedelta(seconds=self.remaining / rate)

    def message(self) -> str:
        """What the run did for the backfill, for the run's summary."""
        if self.finished:
            return f"backfill finished: {self.total_written:,} writes over {self.runs} runs"
        cap = f" (--max-writes {self.max_writes:,})" if self.max_writes is not None else ""
        text = f"stopped after {self.written:,} writes{cap}; {self.remaining:,} remaining"
        if self.not_reached:
            text += f", and targets not reached yet: {', '.join(self.not_reached)}"
        return text + "; the next run continues"

    def progress(self, rate: float) -> str:
        """How far the backfill has gone and when it ends at ``rate`` requests per second."""
        if self.finished:
            return f"backfill finished: {self.total_written:,} writes over {self.runs} runs since {self.started_at}"
        planned = self.total_written + self.remaining
        share = self.total_written / planned if planned else 0.0
        text = (
            f"backfill in progress: {self.total_written:,} of {planned:,} planned writes made over "
            f"{self.runs} runs ({share:.0%}); {self.remaining:,} remaining, about "
            f"{short(self.eta(rate))} of writes at {rate:g} requests/s"
        )
        if self.max_writes:
            text += f", {math.ceil(self.remaining / self.max_writes)} more runs at --max-writes {self.max_writes:,}"
        if self.not_reached:
            text += f"; targets not planned yet: {', '.join(self.not_reached)}"
        return text


@dataclass
class WriteCap:
    """The page writes of one run against its cap, and the backfill it carries on.

    Attributes:
        limit: the run's cap (None: no cap for the run as a whole).
        previous: the backfill of the recipe's previous run, if it had one.
        sent: page writes sent so far.
        remaining: writes planned and left to the next runs, so far.
        not_reached: targets not planned because the cap was spent before them.
    """

    limit: int | None = None
    previous: Backfill | None = None
    sent: int = 0
    remaining: int = 0
    not_reached: list[str] = field(default_factory=list)

    def allowance(self, target_limit: int | None) -> int | None:
        """The most writes the next target may send: the run's rest and the target's own cap
        (None: no cap)."""
        rest = None if self.limit is None else self.limit - self.sent
        limits = [n for n in (rest, target_limit) if n is not None]
        return min(limits) if limits else None

    @property
    def spent(self) -> bool:
        """The run sent as many writes as its cap allows."""
        return self.limit is not None and self.sent >= self.limit

    def count(self, sent: int, capped: int) -> None:
        """A target (or the relation pass) sent ``sent`` writes and left ``capped`` for later."""
        self.sent += sent
        self.remaining += capped

    def backfill(self, started_at: str) -> Backfill | None:
        """The run's backfill (see :meth:`Backfill.of_run`); ``started_at`` is the run's start."""
        return Backfill.of_run(
            self.previous,
            max_writes=self.limit,
            written=self.sent,
            remaining=self.remaining,
            not_reached=tuple(self.not_reached),
            started_at=started_at,
        )


RECENT_RUNS = 10
"""How many of the newest history rows :func:`latest_backfill` is given."""


def latest_backfill(runs: Iterable[RunRecord]) -> Backfill | None:
    """The backfill of the most recent ``run`` of ``runs`` (run history, newest first), if it has
    one. History keeps start times to the second: of runs started in the same second, the one
    furthest into its backfill is the most recent. Callers pass the :data:`RECENT_RUNS` newest
    runs (summaries are bounded, so reading them costs little): more than that many runs of one
    recipe do not start within one second, one at a time under its run lock."""
    records = [r for r in runs if r.command == "run"]
    if not records:
        return None
    found = [
        backfill
        for r in records
        if r.started_at == records[0].started_at and (backfill := Backfill.from_summary(r.summary))
    ]
    return max(found, key=lambda b: (b.runs, b.total_written), default=None)
