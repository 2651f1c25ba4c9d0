"""A tiny in-memory source with a correct connector and harness, and one broken connector per kit check.

The source behaves like a small HTTP API without the HTTP: a token, pages of rows ordered by
``(updated_at, id)`` after a position, deleted rows kept as tombstones (a hard delete removes the
row), a list of the ids that exist, rows that become visible later than their ``updated_at`` (as a
transaction committing late), and a rate-limit answer with a retry-after. ``BROKEN`` maps a bug's
name to a harness whose connector has exactly that bug.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, SecretStr, field_serializer

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.errors import SourceAuthError, SourceError, SourceUnavailable
from syncfw.testing import ConnectorHarness

STREAMS = ("items", "notes")
SOURCES: dict[str, MemorySource] = {}
"""Running sources by id; a harness adds its source on start and removes it on stop."""

Bound = tuple[str, str] | None  # (updated_at, id): a page holds the rows after it
LOOK_BACK = timedelta(seconds=2)
"""How far before its cursor the memory connector reads, for rows visible late."""


@dataclass(frozen=True)
class Position:
    """A read's position: the newest row delivered, and the rows delivered inside the look-back
    window before it (``(updated_at, id)`` pairs), which a later read does not deliver again."""

    newest: tuple[str, str]
    seen: frozenset[tuple[str, str]] = field(default=frozenset())


class Refused(Exception):
    """The token was refused (an HTTP API's 401)."""


class RateLimited(Exception):
    """Too many requests (an HTTP API's 429 with Retry-After)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429, retry after {retry_after} s")
        self.retry_after = retry_after


_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def _stamp(moment: datetime) -> str:
    return moment.strftime(_STAMP)


def _earlier(stamp: str, by: timedelta) -> str:
    return _stamp(datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC) - by)


class MemorySource:
    """Rows per stream, a clock that moves one second per change, a token and rate-limit knobs."""

    def __init__(self, token: str, retry_after: float) -> None:
        self.token = token
        self.retry_after = retry_after
        self.rows: dict[str, dict[str, dict[str, Any]]] = {stream: {} for stream in STREAMS}
        self.stopped = threading.Event()
        self._clock = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
        self._limited = 0
        self._lock = threading.Lock()

    def tick(self) -> str:
        self._clock += timedelta(seconds=1)
        return _stamp(self._clock)

    def put(self, stream: str, row_id: str, name: str, stamp: str) -> None:
        row = {"id": row_id, "name": name, "created_at": stamp, "updated_at": stamp, "deleted": False}
        self.rows[stream][row_id] = row

    def limit_next(self, requests: int) -> None:
        with self._lock:
            self._limited += requests

    def _admit(self, token: str) -> None:
        with self._lock:
            if token != self.token:
                raise Refused()
            if self._limited:
                self._limited -= 1
                raise RateLimited(self.retry_after)

    def whoami(self, token: str) -> str:
        self._admit(token)
        return "kit"

    def ids(self, token: str, stream: str, after: str, limit: int) -> list[str]:
        """Up to ``limit`` ids of rows that exist (no tombstones) after ``after``, in id order."""
        self._admit(token)
        with self._lock:
            return sorted(i for i, r in self.rows[stream].items() if i > after and not r["deleted"])[:limit]

    def get(self, token: str, stream: str, row_id: str) -> dict[str, Any] | None:
        """One row (a tombstone too), or None when there is no such row (an HTTP API's 404)."""
        self._admit(token)
        with self._lock:
            row = self.rows[stream].get(row_id)
            return None if row is None else dict(row)

    def list(self, token: str, stream: str, after: Bound, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` rows after ``after`` in ``(updated_at, id)`` order, tombstones included."""
        self._admit(token)
        with self._lock:
            rows = sorted(self.rows[stream].values(), key=lambda r: (r["updated_at"], r["id"]))
            return [dict(r) for r in rows if after is None or (r["updated_at"], r["id"]) > after][:limit]

    def newest(self, stream: str) -> str:
        return max(row["updated_at"] for row in self.rows[stream].values())


class MemoryConfig(BaseModel):
    source: str
    token: SecretStr


class MemoryConnector(Connector):
    """A correct connector of the in-memory source: pages of two rows, a checkpoint after each."""

    name = "memory"
    config_model: ClassVar[type[BaseModel]] = MemoryConfig
    maturity = "alpha"
    page_size = 2
    attempts = 5

    @property
    def source(self) -> MemorySource:
        try:
            return SOURCES[self.config.source]  # type: ignore[attr-defined]
        except KeyError:
            raise SourceUnavailable("the memory source is not running") from None

    def token(self) -> str:
        return str(self.config.token.get_secret_value())  # type: ignore[attr-defined]

    def refused(self) -> Exception:
        return SourceAuthError("the memory source refused the token: check `token` in the source's config")

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)

    def request(self, call: Callable[[str], Any]) -> Any:
        for attempt in range(1, self.attempts + 1):
            try:
                return call(self.token())
            except Refused:
                raise self.refused() from None
            except RateLimited as exc:
                if attempt == self.attempts:
                    raise SourceUnavailable(
                        f"the memory source kept answering 429 ({attempt} attempts)"
                    ) from None
                self.wait(exc.retry_after)
        raise AssertionError("unreachable")

    def check(self) -> None:
        self.request(self.source.whoami)

    def stream(self, name: str) -> StreamSpec:
        if name not in STREAMS:
            raise SourceError(f"the memory source has no stream {name!r}")
        return StreamSpec(name, "id", "updated_at", ("id", "name", "created_at", "updated_at", "deleted"))

    def position(self, cursor: str | None) -> Position | None:
        if cursor is None:
            return None
        data = json.loads(cursor)
        if data["updated_at"] is None:
            return None
        seen = frozenset((stamp, row_id) for stamp, row_id in data["seen"])
        return Position((data["updated_at"], data["id"]), seen)

    def encode(self, position: Position | None) -> str:
        updated_at, row_id = position.newest if position else (None, None)
        seen = sorted(position.seen) if position else []
        return json.dumps({"updated_at": updated_at, "id": row_id, "seen": seen})

    def checkpoint(self, stream: str, position: Position | None) -> Checkpoint:
        return Checkpoint(stream, self.encode(position))

    def look_back(self, newest: tuple[str, str]) -> tuple[str, str]:
        """Where a read after ``newest`` starts: ``LOOK_BACK`` before it, for rows visible late."""
        return (_earlier(newest[0], LOOK_BACK), "")

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.request(
            lambda token: self.source.list(token, stream, after, self.page_size)
        )
        return rows

    def record(self, stream: str, row: dict[str, Any]) -> Record:
        return Record(stream, row["id"], row, deleted=row["deleted"])

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        position = self.position(cursor)
        after = None if position is None else self.look_back(position.newest)
        while True:
            rows = self.page(stream, after)
            seen = position.seen if position else frozenset()
            for row in rows:
                if (row["updated_at"], row["id"]) not in seen:
                    yield self.record(stream, row)
            if rows:
                after = (rows[-1]["updated_at"], rows[-1]["id"])
                newest = max(after, position.newest) if position else after
                window = self.look_back(newest)
                read = {(row["updated_at"], row["id"]) for row in rows}
                position = Position(newest, frozenset(mark for mark in seen | read if mark > window))
            yield self.checkpoint(stream, position)
            if len(rows) < self.page_size:
                return

    def scan_keys(self, stream: str) -> Iterator[str]:
        after = ""
        while True:
            ids = self.key_page(stream, after)
            yield from ids
            if len(ids) < self.page_size:
                return
            after = ids[-1]

    def key_page(self, stream: str, after: str) -> list[str]:
        ids: list[str] = self.request(lambda token: self.source.ids(token, stream, after, self.page_size))
        return ids


class MemoryHarness(ConnectorHarness):
    """Five rows per stream (the first two share a stamp), a 0.02 s Retry-After."""

    connector_class = MemoryConnector
    streams = STREAMS
    rate_limit_retry_after = 0.02
    timeout_seconds = 10.0

    def start(self, workdir: Path) -> None:
        self.id = f"memory-{secrets.token_hex(4)}"
        self.source = MemorySource("kit-token-" + secrets.token_hex(8), self.rate_limit_retry_after)
        first = self.source.tick()
        for stream in STREAMS:
            for number in range(1, 6):
                stamp = first if number <= 2 else self.source.tick()
                self.source.put(stream, f"{stream}-{number}", f"{stream} {number}", stamp)
        self.source.tick()
        self.touched: set[str] = set()
        SOURCES[self.id] = self.source

    def stop(self) -> None:
        source = SOURCES.pop(getattr(self, "id", ""), None)
        if source is not None:
            source.stopped.set()

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        token = self.source.token if valid_credentials else "refused-token-" + secrets.token_hex(8)
        return {"source": self.id, "token": token}

    def fields(self, stream: str) -> list[str]:
        return ["name"]

    def _existing(self, stream: str) -> dict[str, Any]:
        row = next(
            r for r in self.source.rows[stream].values() if not r["deleted"] and r["id"] not in self.touched
        )
        self.touched.add(row["id"])
        return row

    def add_record(self, stream: str) -> str:
        row_id = f"{stream}-new-{len(self.source.rows[stream]) + 1}"
        self.source.put(stream, row_id, "added", self.source.tick())
        self.touched.add(row_id)
        return row_id

    def change_record(self, stream: str) -> str:
        row = self._existing(stream)
        row.update(name=row["name"] + " (changed)", updated_at=self.source.tick())
        return str(row["id"])

    def delete_record(self, stream: str) -> str:
        row = self._existing(stream)
        row.update(deleted=True, updated_at=self.source.tick())
        return str(row["id"])

    def add_late_record(self, stream: str) -> str:
        row_id = f"{stream}-late-{len(self.source.rows[stream]) + 1}"
        self.source.put(
            stream, row_id, "committed late", _earlier(self.source.newest(stream), timedelta(seconds=1))
        )
        self.touched.add(row_id)
        return row_id

    def hard_delete_record(self, stream: str) -> str:
        row = self._existing(stream)
        del self.source.rows[stream][row["id"]]
        return str(row["id"])

    def rate_limit_next(self, requests: int) -> None:
        self.source.limit_next(requests)


class OpaqueCursorConnector(MemoryConnector):
    """Cursors are base64 tokens, as some APIs issue them: the default future_cursor cannot read them."""

    def position(self, cursor: str | None) -> Position | None:
        return super().position(None if cursor is None else base64.b64decode(cursor).decode())

    def encode(self, position: Position | None) -> str:
        return base64.b64encode(super().encode(position).encode()).decode()


class OpaqueCursorHarness(MemoryHarness):
    connector_class = OpaqueCursorConnector


class OpaqueCursorWithFutureHarness(OpaqueCursorHarness):
    def future_cursor(self, stream: str, cursor: str) -> str:
        position = {"updated_at": "9999-12-31T00:00:00Z", "id": "", "seen": []}
        return base64.b64encode(json.dumps(position).encode()).decode()


class NoRateLimitsHarness(MemoryHarness):
    """The source has no rate-limit response."""

    has_rate_limits = False

    def rate_limit_next(self, requests: int) -> None:
        raise NotImplementedError


class NoCredentialsHarness(MemoryHarness):
    """Declared as a source without credentials (its unusable config is still a refused token)."""

    has_credentials = False


class NoKeyScanConnector(MemoryConnector):
    """Keeps the contract's default scan_keys, which raises KeyScanUnsupported."""

    scan_keys = Connector.scan_keys


class NoKeyScanHarness(MemoryHarness):
    """A connector without a key scan (its harness can still hard-delete)."""

    connector_class = NoKeyScanConnector


class InOrderSourceHarness(MemoryHarness):
    """Declares a source that makes every change visible in cursor order, and has no hard delete."""

    def add_late_record(self, stream: str) -> str:
        raise NotImplementedError

    def hard_delete_record(self, stream: str) -> str:
        raise NotImplementedError


class StartFailsHarness(MemoryHarness):
    """Registers its source, then fails to start: stop() must still run."""

    def start(self, workdir: Path) -> None:
        super().start(workdir)
        raise RuntimeError("the emulator did not start")


# -- one bug each ------------------------------------------------------------------------------


class CheckFailsConnector(MemoryConnector):
    def check(self) -> None:
        raise SourceError("the memory source answered 404 on /health")


class SwallowsBadCredentialsConnector(MemoryConnector):
    def check(self) -> None:
        with contextlib.suppress(SourceAuthError):
            super().check()


class RawAuthErrorConnector(MemoryConnector):
    def refused(self) -> Exception:
        return PermissionError("HTTP 401")


class PlainSourceErrorConnector(MemoryConnector):
    def refused(self) -> Exception:
        return SourceError("the memory source failed")


class LeaksSecretConnector(MemoryConnector):
    def refused(self) -> Exception:
        return SourceAuthError(f"the memory source refused token {self.token()}")


class TracebackMessageConnector(MemoryConnector):
    def refused(self) -> Exception:
        return SourceAuthError(f"request failed:\n{traceback.format_exc()}")


class EmptyMessageConnector(MemoryConnector):
    def refused(self) -> Exception:
        return SourceAuthError()


class PlainTokenConfig(BaseModel):
    source: str
    token: str


class PlainTokenConnector(MemoryConnector):
    config_model = PlainTokenConfig

    def token(self) -> str:
        return str(self.config.token)  # type: ignore[attr-defined]


class SecretInJsonConfig(MemoryConfig):
    @field_serializer("token")
    def _reveal(self, token: SecretStr) -> str:
        return token.get_secret_value()


class SecretInJsonConnector(MemoryConnector):
    config_model = SecretInJsonConfig


class NoCursorFieldConnector(MemoryConnector):
    def stream(self, name: str) -> StreamSpec:
        return StreamSpec(name, "id", None)


class NoPrimaryKeyConnector(MemoryConnector):
    def stream(self, name: str) -> StreamSpec:
        return StreamSpec(name, "", "updated_at")


class RepeatsPageEndsConnector(MemoryConnector):
    """A paging bug: each full page comes back with its last row twice."""

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        rows = super().page(stream, after)
        return rows + rows[-1:] if len(rows) == self.page_size else rows


class NullKeyConnector(MemoryConnector):
    def record(self, stream: str, row: dict[str, Any]) -> Record:
        return Record(stream, row.get("Id"), row, deleted=row["deleted"])  # type: ignore[arg-type]


class NameAsKeyConnector(MemoryConnector):
    def record(self, stream: str, row: dict[str, Any]) -> Record:
        return Record(stream, row["name"], row, deleted=row["deleted"])


class NoRecordsConnector(MemoryConnector):
    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        yield Checkpoint(stream, self.encode(self.position(cursor)))


class CheckpointFirstConnector(MemoryConnector):
    """Yields each page's checkpoint before the page's records."""

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        page: list[Record] = []
        for item in super().read(stream, cursor, fields):
            if isinstance(item, Record):
                page.append(item)
            else:
                yield item
                yield from page
                page.clear()


class EmptyCursorConnector(MemoryConnector):
    def checkpoint(self, stream: str, position: Position | None) -> Checkpoint:
        return Checkpoint(stream, "")


class CheckpointsNewestConnector(MemoryConnector):
    """Checkpoints the source's newest change instead of the last record yielded."""

    def checkpoint(self, stream: str, position: Position | None) -> Checkpoint:
        rows = self.source.rows[stream].values()
        seen = frozenset((row["updated_at"], row["id"]) for row in rows)
        return Checkpoint(stream, self.encode(Position((self.source.newest(stream), "\uffff"), seen)))


class CheckpointLagsConnector(MemoryConnector):
    """Each checkpoint holds the position of the page before."""

    _previous: Position | None = None

    def checkpoint(self, stream: str, position: Position | None) -> Checkpoint:
        checkpoint = super().checkpoint(stream, self._previous)
        self._previous = position
        return checkpoint


class IgnoresCursorConnector(MemoryConnector):
    def position(self, cursor: str | None) -> Position | None:
        return None


class MissesChangesConnector(MemoryConnector):
    """Reads by creation time, so changes to existing records are never read incrementally."""

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        rows = super().page(stream, after)
        return [r for r in rows if after is None or r["created_at"] > after[0]]


class MissesNewRecordsConnector(MemoryConnector):
    """Reads a 'recently modified' feed that leaves out records created after the cursor."""

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        rows = super().page(stream, after)
        return [r for r in rows if after is None or r["created_at"] <= after[0]]


class FutureCursorResetsConnector(MemoryConnector):
    """Takes a cursor past the newest record for a corrupt one and reads everything again."""

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        if after is not None and after[0] > self.source.newest(stream):
            after = None
        return super().page(stream, after)


class FutureCursorRaisesConnector(MemoryConnector):
    """Fails on a cursor past the newest record, as an API refusing a start time in the future."""

    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        if after is not None and after[0] > self.source.newest(stream):
            raise SourceError("the memory source refused the cursor: start time is in the future")
        return super().page(stream, after)


class EmptyReadWithoutCheckpointConnector(MemoryConnector):
    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        for item in super().read(stream, cursor, fields):
            if isinstance(item, Record) or self._yielded:
                self._yielded = True
                yield item

    _yielded = False


class EmptyReadResetsCursorConnector(MemoryConnector):
    """A read that delivers no record checkpoints the start of the stream."""

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        delivered = False
        for item in super().read(stream, cursor, fields):
            delivered = delivered or isinstance(item, Record)
            yield item if delivered else self.checkpoint(stream, None)


class DropsDeletesConnector(MemoryConnector):
    def page(self, stream: str, after: Bound) -> list[dict[str, Any]]:
        return [r for r in super().page(stream, after) if not r["deleted"]]


class DeletedAsChangeConnector(MemoryConnector):
    def record(self, stream: str, row: dict[str, Any]) -> Record:
        return Record(stream, row["id"], row)


class ReadsStrictlyAfterCursorConnector(MemoryConnector):
    """No look-back: a row visible late, stamped before the cursor, is never read."""

    def look_back(self, newest: tuple[str, str]) -> tuple[str, str]:
        return newest


class ScansFirstPageOnlyConnector(MemoryConnector):
    def scan_keys(self, stream: str) -> Iterator[str]:
        yield from self.key_page(stream, "")


class ScanRepeatsPageEndsConnector(MemoryConnector):
    """A paging bug: each page of keys starts again at the last key of the page before."""

    def key_page(self, stream: str, after: str) -> list[str]:
        ids = super().key_page(stream, after)
        return ([after] if after else []) + ids


class ScansRowsNotKeysConnector(MemoryConnector):
    def scan_keys(self, stream: str) -> Iterator[str]:
        for key in super().scan_keys(stream):
            yield self.request(functools.partial(self.source.get, stream=stream, row_id=key))


class ScanListsTombstonesConnector(MemoryConnector):
    """Lists the ids of every row a full read returns, deleted ones included."""

    def scan_keys(self, stream: str) -> Iterator[str]:
        for item in self.read(stream, None, ()):
            if isinstance(item, Record):
                yield item.key


SCANNED: dict[tuple[str, str], list[str]] = {}


class CachesScanConnector(MemoryConnector):
    """Keeps the first scan's keys (per source and stream) and answers later scans from them."""

    def scan_keys(self, stream: str) -> Iterator[str]:
        cached = SCANNED.setdefault((self.config.source, stream), list(super().scan_keys(stream)))  # type: ignore[attr-defined]
        yield from cached


class ScanProbesSequentialIdsConnector(MemoryConnector):
    """Fetches ``<stream>-1``, ``<stream>-2``, ... and stops at the first id with no row (a 404)."""

    def scan_keys(self, stream: str) -> Iterator[str]:
        for number in itertools.count(1):
            row = self.request(functools.partial(self.source.get, stream=stream, row_id=f"{stream}-{number}"))
            if row is None:
                return
            if not row["deleted"]:
                yield row["id"]


class RaisesOnRateLimitConnector(MemoryConnector):
    attempts = 1


class HangsOnRateLimitConnector(MemoryConnector):
    def wait(self, seconds: float) -> None:
        self.source.stopped.wait(60)


class RetriesAtOnceConnector(MemoryConnector):
    def wait(self, seconds: float) -> None:
        pass


class SkipsRateLimitedPageConnector(MemoryConnector):
    def request(self, call: Callable[[str], Any]) -> Any:
        try:
            return call(self.token())
        except RateLimited:
            return []


def _harness(connector: type[MemoryConnector], **attributes: Any) -> type[MemoryHarness]:
    name = connector.__name__.removesuffix("Connector") + "Harness"
    return type(name, (MemoryHarness,), {"connector_class": connector, **attributes})


BROKEN: dict[str, type[MemoryHarness]] = {
    "check_fails": _harness(CheckFailsConnector),
    "swallows_bad_credentials": _harness(SwallowsBadCredentialsConnector),
    "raw_auth_error": _harness(RawAuthErrorConnector),
    "plain_source_error": _harness(PlainSourceErrorConnector),
    "leaks_secret": _harness(LeaksSecretConnector),
    "traceback_message": _harness(TracebackMessageConnector),
    "empty_message": _harness(EmptyMessageConnector),
    "plain_token": _harness(PlainTokenConnector),
    "secret_in_json": _harness(SecretInJsonConnector),
    "no_cursor_field": _harness(NoCursorFieldConnector),
    "no_primary_key": _harness(NoPrimaryKeyConnector),
    "repeats_page_ends": _harness(RepeatsPageEndsConnector),
    "null_key": _harness(NullKeyConnector),
    "name_as_key": _harness(NameAsKeyConnector),
    "no_records": _harness(NoRecordsConnector),
    "checkpoint_first": _harness(CheckpointFirstConnector),
    "empty_cursor": _harness(EmptyCursorConnector),
    "checkpoints_newest": _harness(CheckpointsNewestConnector),
    "checkpoint_lags": _harness(CheckpointLagsConnector),
    "ignores_cursor": _harness(IgnoresCursorConnector),
    "misses_changes": _harness(MissesChangesConnector),
    "misses_new_records": _harness(MissesNewRecordsConnector),
    "future_cursor_resets": _harness(FutureCursorResetsConnector),
    "future_cursor_raises": _harness(FutureCursorRaisesConnector),
    "empty_read_without_checkpoint": _harness(EmptyReadWithoutCheckpointConnector),
    "empty_read_resets_cursor": _harness(EmptyReadResetsCursorConnector),
    "drops_deletes": _harness(DropsDeletesConnector),
    "deleted_as_change": _harness(DeletedAsChangeConnector),
    "reads_strictly_after_cursor": _harness(ReadsStrictlyAfterCursorConnector),
    "scans_first_page_only": _harness(ScansFirstPageOnlyConnector),
    "scan_repeats_page_ends": _harness(ScanRepeatsPageEndsConnector),
    "scans_rows_not_keys": _harness(ScansRowsNotKeysConnector),
    "scan_lists_tombstones": _harness(ScanListsTombstonesConnector),
    "caches_scan": _harness(CachesScanConnector),
    "scan_probes_sequential_ids": _harness(ScanProbesSequentialIdsConnector),
    "raises_on_rate_limit": _harness(RaisesOnRateLimitConnector),
    "hangs_on_rate_limit": _harness(HangsOnRateLimitConnector, timeout_seconds=1.0),
    "retries_at_once": _harness(RetriesAtOnceConnector),
    "skips_rate_limited_page": _harness(SkipsRateLimitedPageConnector),
}
