"""What the state store's SQL parts share: how they run statements, and how values are stored.

The reads (:mod:`syncfw.state.reads`, :mod:`syncfw.state.history`) and writes
(:mod:`syncfw.state.writes`) are written once against :class:`SqlReader` and :class:`SqlWriter`;
a backend implements those few methods for its driver (:mod:`syncfw.state.sqlite`). Statements
use ``?`` markers; the backend turns them into its driver's with :meth:`Dialect.sql`.

Property values are stored as canonical JSON text; a list comes back as a tuple (the engine's
canonical form of multi-selects, relations and people).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from more_itertools import chunked

CHUNK = 500
"""Keys per ``IN (...)`` query: well under SQLite's limit of bound parameters (32766) and
PostgreSQL's (65535)."""


class SqlReader(ABC):
    """Runs read statements."""

    @abstractmethod
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Sequence[Any]]:
        """The rows of ``sql`` (``?`` markers).

        Raises:
            StateError: the store cannot be read.
        """


class SqlWriter(ABC):
    """Runs write statements inside an open transaction (errors end the transaction)."""

    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    @abstractmethod
    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    def _returning(self, sql: str, params: Sequence[Any]) -> Any:
        """The one value ``sql`` (a statement ending in ``RETURNING <column>``) answers."""


MAPPING = "mapping_id = (SELECT id FROM mappings WHERE target = ? AND mapping = ?)"
"""The condition on a table keyed by mapping number (``matches``) for one target's mapping (its
two markers: target, mapping)."""

PAGES_OF = "target_id = (SELECT id FROM target_numbers WHERE target = ?)"
"""The condition on ``pages`` (keyed by target number) for one target (its marker: the target)."""

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""One encoder for every value (``json.dumps`` with options builds a new one per call)."""


def dump(value: Any) -> str:
    """Canonical JSON text of ``value`` (sorted keys, no spaces; tuples become lists)."""
    return _CANONICAL.encode(value)


def load(text: str) -> Any:
    """A stored value; a JSON list becomes a tuple."""
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def load_values(text: str) -> dict[str, Any]:
    """Stored property values; JSON lists become tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}


def chunks(keys: Iterable[str]) -> Iterator[list[str]]:
    """``keys`` in lists of at most :data:`CHUNK`."""
    return chunked(keys, CHUNK)
