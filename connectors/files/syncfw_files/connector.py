"""The files source connector: one CSV, JSON Lines, Excel or Parquet file as one stream.

The stream is named after the file's stem (``accounts`` for ``data/accounts.xlsx``); ``rows`` is
accepted as well, so a mapping need not change when the file is renamed. Records are
``Record(stream, key=<the key column's value as text>, data={column: plain value, ...})`` with
values as :mod:`syncfw_files.values` describes.

Every row is checked before it is yielded: a row with an empty key, or with a key an earlier row
already has, stops the read with a :class:`~syncfw.errors.SourceError` naming the file, the row
and the key, so nothing is written from a file that does not say which row is which. A row whose
read columns are all empty (a blank spreadsheet row) is skipped.

Modes (see :mod:`syncfw_files.cursor` for the cursors):

* ``incremental``: rows whose ``updated_at`` is newer than the cursor; deletes are not seen.
* ``mirror``: new and changed rows (by an 8-byte digest of each row), then one
  ``Record(deleted=True, data={key: value})`` per key the previous read saw and this one did not.
  A duplicate key is found once the whole file is read (the keys are held as hashes, not as a
  set), before the deletes and the checkpoint: the read fails with nothing committed.
  A read that finds no row while the previous one found some raises instead of reporting every
  row deleted.

Both modes read the whole file and yield one :class:`~syncfw.connector.Checkpoint` at the end:
rows are not in cursor order, so no earlier position is safe to resume from. The checkpoint's
cursor carries the identity of the file, config and columns read (:mod:`syncfw_files.identity`):
a read that finds the same yields that checkpoint again at once, reading nothing, and loads
neither pandas nor pyarrow. A file that changed while it was read gets no identity.

The key scan (:meth:`FilesConnector.scan_keys`) lists the keys in the file now, in either mode:
in incremental mode it is the only way a removed row is noticed.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel

from syncfw import SourceError
from syncfw.connector import Checkpoint, Connector, Record, StreamSpec, UnknownNames, did_you_mean
from syncfw_files.config import FilesConfig
from syncfw_files.cursor import (
    IncrementalCursor,
    IncrementalCursorBuilder,
    MirrorCursor,
    MirrorCursorBuilder,
    PreviousRows,
    duplicate_keys,
    row_digester,
    stamp_of,
    stamped,
)
from syncfw_files.identity import FileIdentity, identify, read_identity, unchanged_since

if TYPE_CHECKING:
    from syncfw_files.tables import Table

log = logging.getLogger(__name__)

GENERIC_STREAM = "rows"
LOOKUP_BATCH = 1_000
"""Rows of a mirror read looked up in the previous read's keys at once."""

T = TypeVar("T")


class FilesConnector(Connector):
    """Reads one local file with pandas (CSV, Excel), pyarrow (Parquet) or json (JSON Lines).

    Memory stays bounded for CSV, JSON Lines and Parquet: one chunk of :attr:`chunk_rows` rows at
    a time, plus the keys (in mirror mode, compressed, with 16 to 24 bytes per key: see
    :mod:`syncfw_files.cursor`). Excel sheets are read
    whole.
    """

    name = "files"
    streams: ClassVar[dict[str, str]] = {
        "rows": "the file's rows, one record per row, keyed by the `key` column",
        "*": "the file's name without its extension (`pricing` for pricing.xlsx) names the same stream",
    }
    config_model = FilesConfig
    maturity = "beta"

    chunk_rows: ClassVar[int] = 10_000

    def __init__(self, config: BaseModel) -> None:
        if not isinstance(config, FilesConfig):
            raise TypeError(f"FilesConnector needs a FilesConfig, got {type(config).__name__}")
        super().__init__(config)
        self.settings = config
        self._identity: FileIdentity | None = None

    @property
    def stream_names(self) -> tuple[str, str]:
        """The stream names this source answers to: the file's stem, and ``rows``."""
        return (self.settings.path.stem, GENERIC_STREAM)

    def check(self) -> None:
        """Open the file and take its digest (:mod:`syncfw_files.identity`); its header is read by
        :meth:`unknown_names`, :meth:`stream` and :meth:`read`, which check the configured columns.

        Raises:
            syncfw.errors.SourceAuthError: the file may not be read (permission denied).
            syncfw.errors.SourceError: the file is missing, a directory or not a regular file.
        """
        self._identify()

    def schema_fingerprint(self, stream: str) -> str:
        """The file's size and SHA-256 digest (``"<size>:<sha256>"``): its header changes only with them.

        Raises:
            syncfw.errors.SourceAuthError: the file may not be read (permission denied).
            syncfw.errors.SourceError: the file is missing, a directory or not a regular file.
        """
        return self._identify().text

    def stream(self, name: str) -> StreamSpec:
        """The file as stream ``name``: primary key ``key``, cursor field ``updated_at``, and the
        file's columns as fields (reads the header; JSON Lines files are scanned whole).

        Raises:
            syncfw.errors.SourceError: ``name`` is neither the file's stem nor ``rows``, or
                :meth:`check` would fail.
        """
        self._check_stream(name)
        columns = self._columns(self._table())
        cfg = self.settings
        return StreamSpec(name=name, primary_key=cfg.key, cursor_field=cfg.updated_at, fields=tuple(columns))

    def unknown_names(self, stream: str, fields: Sequence[str]) -> UnknownNames:
        """A stream that is neither the file's stem nor ``rows``, and the field paths whose column
        (the part before the first dot) is not in the file (reads the header).

        Raises:
            syncfw.errors.SourceError: :meth:`check` would fail; the file is empty or not of its
                format; the key, ``updated_at`` or a ``dtype`` column is not in it (the message
                lists the columns there are).
        """
        if stream not in self.stream_names:
            stem, generic = self.stream_names
            return UnknownNames(
                stream=f"a files source reads one file; its stream is {stem!r} (the file's name without "
                f"extension) or {generic!r}, not {stream!r}{did_you_mean(stream, self.stream_names)}"
            )
        table = self._table()
        columns = self._columns(table)
        unknown = {}
        for path in fields:
            column = path.split(".", 1)[0]
            if column not in columns:
                unknown[path] = f"{table.label} has no column {column!r}{did_you_mean(column, columns)}"
        return UnknownNames(fields=unknown)

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        """Yield the file's new and changed rows, the deletes in mirror mode, then one checkpoint.

        Args:
            stream: the file's stem or ``rows``.
            cursor: a cursor of an earlier checkpoint, or None to read every row.
            fields: the columns the mappings need (``address.city`` reads column ``address``);
                the key and ``updated_at`` columns are always read. Empty: every column.

        Raises:
            syncfw.errors.SourceError: everything :meth:`check` raises; a requested column is not
                in the file (the message lists those that are); a row has an empty or duplicate key
                or an ``updated_at`` that is empty or not a date-time or number (incremental
                mode); in mirror mode, the file has no row while the previous read had some; the
                cursor is not one this connector wrote.
        """
        from syncfw_files import __version__

        self._check_stream(stream)
        identity = self._identify()
        read = read_identity(identity, self.settings, fields, __version__)
        if cursor is not None and stamp_of(cursor) == read:
            yield Checkpoint(stream, cursor)  # the same file, config and columns: nothing to read
            return
        table = self._table()
        columns = self._selected(table, fields)
        if self.settings.read_mode == "incremental":
            items = self._read_incremental(stream, table, columns, cursor)
        else:
            items = self._read_mirror(stream, table, columns, cursor)
        for item in items:
            if isinstance(item, Checkpoint) and unchanged_since(self.settings, identity):
                item = Checkpoint(stream, stamped(item.cursor, read))
            yield item

    def scan_keys(self, stream: str) -> Iterator[str]:
        """The key of every row in the file now, as text (as :attr:`Record.key` holds it), in file order.

        The rows are checked as a read checks them (every column is read): blank rows are
        skipped, and the whole file is read before the first key is yielded, so a bad row never
        leaves a partial list.

        Raises:
            syncfw.errors.SourceError: everything :meth:`check` raises; a row has an empty or
                duplicate key; the file has no row (a file caught while being rewritten must not
                be taken for a source whose every record was deleted).
        """
        self._check_stream(stream)
        table = self._table()
        keys: dict[str, None] = {}
        for number, key, _ in self._records(table, self._columns(table)):
            if key in keys:
                raise _duplicate(table, number, key)
            keys[key] = None
        if not keys:
            raise SourceError(
                f"{table.label} has no rows: not listing no keys (reconciliation would take every record "
                "for deleted). If the file is being rewritten, run again when it is complete"
            )
        return iter(keys)

    def _read_incremental(
        self, stream: str, table: Table, columns: list[str], cursor: str | None
    ) -> Iterator[Record | Checkpoint]:
        updated_at = self.settings.updated_at
        assert updated_at is not None  # the config requires it in incremental mode
        start = self._decode(IncrementalCursor.decode, stream, cursor)
        if start is None:
            log.warning(
                "files %s: the saved cursor was written in mirror mode; reading every row", table.label
            )
            start = IncrementalCursor()
        from syncfw_files.values import stamp  # loaded with the file's reader (see _table)

        builder = IncrementalCursorBuilder(start)
        seen: set[str] = set()
        for number, key, data in self._records(table, columns):
            if key in seen:
                raise _duplicate(table, number, key)
            seen.add(key)
            try:
                value = stamp(data[updated_at])
                if start.delivered(key, value):
                    continue
                builder.add(key, value)
            except (ValueError, TypeError) as exc:
                raise SourceError(
                    f"{table.label} {table.where(number)} (key {key!r}): updated_at column "
                    f"{updated_at!r}: {_reason(exc)}"
                ) from None
            yield Record(stream, key, data)
        yield Checkpoint(stream, builder.cursor().encode())

    def _read_mirror(
        self, stream: str, table: Table, columns: list[str], cursor: str | None
    ) -> Iterator[Record | Checkpoint]:
        previous = self._decode(MirrorCursor.decode, stream, cursor)
        if previous is None and cursor is not None:
            log.warning(
                "files %s: the saved cursor was written in incremental mode; reading every row, "
                "no deletes can be seen this time",
                table.label,
            )
        signature = tuple(sorted(columns))
        row_digest = row_digester(signature)
        old = PreviousRows(previous) if previous is not None else None
        compare = previous is not None and previous.columns == signature
        current = MirrorCursorBuilder(signature)
        numbers = array("Q")
        batch: list[tuple[str, dict[str, Any], int]] = []

        def changed() -> Iterator[Record]:
            if not batch:
                return
            keys = [key for key, _, _ in batch]
            known = old.meet(keys, current.hashes[-len(batch) :]) if old is not None else [None] * len(batch)
            for (key, data, digest), before in zip(batch, known, strict=True):
                if before != digest or not compare:
                    yield Record(stream, key, data)
            batch.clear()

        for number, key, data in self._records(table, columns):
            digest = row_digest(data)
            current.add(key, digest)
            numbers.append(number)
            batch.append((key, data, digest))
            if len(batch) == LOOKUP_BATCH:
                yield from changed()
        yield from changed()
        seen = current.cursor()
        duplicate = next(duplicate_keys(current.hashes, seen), None)
        if duplicate is not None:
            raise _duplicate(table, numbers[duplicate[0]], duplicate[1])
        if not len(seen) and previous is not None and len(previous):
            raise SourceError(
                f"{table.label} has no rows, but the previous read found {len(previous)}: not reporting "
                "every row deleted. If the file is being rewritten, run again when it is complete; "
                "if every row really was removed, reset the stream's cursor"
            )
        for key in old.gone() if old is not None else ():
            yield Record(stream, key, {self.settings.key: key}, deleted=True)
        yield Checkpoint(stream, seen.encode())

    def _records(self, table: Table, columns: list[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """``(row number, key, plain data)`` of every row that is not blank; raises for an empty key."""
        from syncfw_files.values import as_date, is_empty, key_text, plain  # see _table

        cfg = self.settings
        # pandas infers CSV and Excel types per chunk: whole floats become ints there (see plain)
        whole = {c: not table.typed and cfg.dtype.get(c) != "number" for c in columns}
        dates = [c for c in columns if cfg.dtype.get(c) == "date"]
        for number, data in table.rows(columns):
            for column, value in data.items():
                if type(value) is not str:
                    data[column] = plain(value, integral_floats_as_int=whole[column])
            key = key_text(data[cfg.key])
            if key is None:
                if all(is_empty(v) for v in data.values()):
                    continue
                raise SourceError(
                    f"{table.label} {table.where(number)}: the key column {cfg.key!r} is empty: give "
                    "every row a key (or delete the row)"
                )
            for column in dates:
                try:
                    data[column] = as_date(data[column])
                except ValueError as exc:
                    raise SourceError(
                        f"{table.label} {table.where(number)} (key {key!r}): column {column!r} "
                        f"(dtype date): {exc}"
                    ) from None
            yield number, key, data

    def _identify(self) -> FileIdentity:
        """The file's identity, digested again only when its stat changed since the last time."""
        self._identity = identify(self.settings, self._identity)
        return self._identity

    def _table(self) -> Table:
        # imported when the file is first opened, not with the connector: pandas and pyarrow take
        # half a second and 140 MiB that loading a recipe (syncfw validate) does not need
        from syncfw_files.tables import open_table

        return open_table(self.settings, self.chunk_rows)

    def _columns(self, table: Table) -> list[str]:
        """The file's columns, after checking the configured ones are among them."""
        columns = table.columns()
        if not columns:
            raise SourceError(f"{table.label} has no columns: it is empty (no header row, or no JSON object)")
        cfg = self.settings
        configured = [("key", cfg.key), ("updated_at", cfg.updated_at)]
        configured += [(f"dtype.{name}", name) for name in cfg.dtype]
        for option, column in configured:
            if column is not None and column not in columns:
                raise SourceError(
                    f"{table.label} has no column {column!r} (set as `{option}`); its columns are: "
                    f"{_listing(columns)}"
                )
        return columns

    def _selected(self, table: Table, fields: Sequence[str]) -> list[str]:
        """The columns to read, in file order: the key, ``updated_at`` and the fields' columns."""
        columns = self._columns(table)
        if not fields:
            return columns
        wanted = {field.split(".", 1)[0] for field in fields}
        unknown = sorted(wanted.difference(columns))
        if unknown:
            raise SourceError(
                f"{table.label} has no column {', '.join(map(repr, unknown))} asked for by the mapping; "
                f"its columns are: {_listing(columns)}"
            )
        wanted.update(c for c in (self.settings.key, self.settings.updated_at) if c is not None)
        return [c for c in columns if c in wanted]

    def _check_stream(self, name: str) -> None:
        if name not in self.stream_names:
            stem, generic = self.stream_names
            raise SourceError(
                f"a files source reads one file; its stream is {stem!r} (the file's name without "
                f"extension) or {generic!r}, not {name!r}"
            )

    def _decode(self, decode: Callable[[str | None], T], stream: str, cursor: str | None) -> T:
        try:
            return decode(cursor)
        except ValueError as exc:
            raise SourceError(
                f"the saved cursor of files stream {stream!r} is not one this connector wrote ({exc}); "
                "reset the stream's cursor to read the file in full again"
            ) from None


def _duplicate(table: Table, number: int, key: str) -> SourceError:
    return SourceError(
        f"{table.label} {table.where(number)}: key {key!r} is already used by an earlier row: keys in column "
        f"{table.config.key!r} must be unique"
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, TypeError):
        return (
            "its values cannot be compared with each other or with the saved cursor (date-times with "
            "and without a time zone, or date-times and numbers, are mixed)"
        )
    return str(exc)


def _listing(columns: Sequence[str]) -> str:
    return ", ".join(repr(c) for c in columns)
