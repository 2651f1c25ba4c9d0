"""The connector's cursors: where the next export of a stream starts.

Two forms, both plain strings:

* Zendesk's own ``after_cursor`` of the last page read, verbatim (cursor-based exports, e.g.
  ``MTcwNzI3MTc0MS4wfHw0MDQ1fA==``; opaque, and never containing ``:``). A page whose
  ``after_cursor`` is null (Zendesk answers so when nothing changed) never replaces it.
* ``start_time:<epoch seconds>[;skip=<id>,<id>...]`` for a start time: the configured
  ``start_time`` before a cursor-based export returned any cursor, and always for time-based
  exports, whose next ``start_time`` is the page's ``end_time``. Time-based exports start *at*
  ``start_time`` inclusive, so the ids already delivered with exactly that ``updated_at`` are kept
  in ``skip`` and not delivered again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PREFIX = "start_time:"
_START = re.compile(r"start_time:(\d+)(?:;skip=(\d+(?:,\d+)*))?")


@dataclass(frozen=True)
class ExportPosition:
    """A decoded cursor: exactly one of ``after_cursor`` and ``start_time`` is set.

    Attributes:
        after_cursor: Zendesk's cursor to resume a cursor-based export from.
        start_time: epoch seconds to start an export at.
        skip: ids (as strings) already delivered with ``updated_at == start_time``.
    """

    after_cursor: str | None = None
    start_time: int | None = None
    skip: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def decode(cls, cursor: str | None, *, default_start: int) -> ExportPosition:
        """The position of a saved cursor, or ``default_start`` when there is none.

        Raises:
            ValueError: the cursor is neither form.
        """
        if cursor is None:
            return cls(start_time=default_start)
        if cursor.startswith(_PREFIX):
            match = _START.fullmatch(cursor)
            if match is None:
                raise ValueError(f"expected 'start_time:<seconds>[;skip=<ids>]', got {cursor!r}")
            ids = match.group(2).split(",") if match.group(2) else []
            return cls(start_time=int(match.group(1)), skip=frozenset(ids))
        if not cursor or any(char.isspace() for char in cursor):
            raise ValueError(f"{cursor!r} is not a Zendesk cursor")
        return cls(after_cursor=cursor)

    def encode(self) -> str:
        """The cursor string of this position."""
        if self.after_cursor is not None:
            return self.after_cursor
        skip = f";skip={','.join(sorted(self.skip, key=lambda id_: (len(id_), id_)))}" if self.skip else ""
        return f"{_PREFIX}{self.start_time}{skip}"
