"""The acceptance-kit harness of the files connector: a small CSV file that the kit edits.

::

    from syncfw.testing import connector_tests
    from syncfw_files.testing import FilesHarness

    TestFilesKit = connector_tests(FilesHarness)

The source is ``contacts.csv`` (stream ``contacts``) in mirror mode with an ``updated_at``
column, so adds, changes, deletes and rows saved late (with an ``updated_at`` older than rows
already read) all show in the next read. Every edit rewrites the file
the way an editor saves it (a new file renamed over the old one).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path
from typing import Any, ClassVar

from syncfw.testing import ConnectorHarness
from syncfw_files.connector import FilesConnector
from syncfw_files.cursor import MirrorCursor, MirrorCursorBuilder

_COLUMNS = ("id", "name", "email", "updated_at")
_START = dt.datetime(2026, 5, 1, 9, 0, tzinfo=dt.UTC)


class FilesHarness(ConnectorHarness):
    """Drives :class:`FilesConnector` over a CSV file in the kit's work directory.

    Attributes:
        has_rate_limits: False: files have no rate limit, so the kit skips its rate-limit check.
        has_credentials: False: files have no credentials; ``config(valid_credentials=False)``
            names a file that does not exist, which ``check()`` refuses with a ``SourceError``.
    """

    connector_class = FilesConnector
    streams = ("contacts",)
    has_rate_limits: ClassVar[bool] = False
    has_credentials: ClassVar[bool] = False

    def __init__(self) -> None:
        self._path: Path | None = None
        self._rows: list[dict[str, str]] = []
        self._serial = 0

    def start(self, workdir: Path) -> None:
        """Write ``contacts.csv`` with three contacts into ``workdir``."""
        self._path = workdir / "contacts.csv"
        self._rows = []
        self._serial = 0
        for name in ("Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"):
            self._rows.append(self._new_row(name))
        self._save()

    def stop(self) -> None:
        """Nothing runs and no environment variable was set: forget the file."""
        self._path = None

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """The source's config; with ``valid_credentials=False``, a path where no file exists."""
        path = self._file() if valid_credentials else self._file().with_name("missing.csv")
        return {"path": str(path), "key": "id", "updated_at": "updated_at", "mode": "mirror"}

    def fields(self, stream: str) -> list[str]:
        """``name`` and ``email``."""
        return ["name", "email"]

    def add_record(self, stream: str) -> str:
        """Append a contact with the newest ``updated_at``; return its id."""
        row = self._new_row(f"Contact {self._serial + 1}")
        self._rows.append(row)
        self._save()
        return row["id"]

    def change_record(self, stream: str) -> str:
        """Rename the first contact and move its ``updated_at`` forward; return its id."""
        row = self._rows[0]
        row["name"] += " (changed)"
        row["updated_at"] = self._next_stamp()
        self._save()
        return row["id"]

    def delete_record(self, stream: str) -> str:
        """Remove the last row from the file (a mirror read reports it deleted); return its id."""
        row = self._rows.pop()
        self._save()
        return row["id"]

    def add_late_record(self, stream: str) -> str:
        """Append a contact whose ``updated_at`` is older than the newest row's (a file regenerated
        with a row its export missed before); return its id. Mirror reads compare rows, not times."""
        row = self._new_row(f"Contact {self._serial + 1} (late)")
        row["updated_at"] = (_START - dt.timedelta(days=1)).isoformat()
        self._rows.append(row)
        self._save()
        return row["id"]

    def hard_delete_record(self, stream: str) -> str:
        """Remove the first row from the file; return its id. A file keeps no tombstone: a removed
        row is only noticed by comparing (a mirror read) or by the key scan."""
        row = self._rows.pop(0)
        self._save()
        return row["id"]

    def rate_limit_next(self, requests: int) -> None:
        """Does nothing: files have no rate limit (see :attr:`has_rate_limits`)."""

    def future_cursor(self, stream: str, cursor: str) -> str:
        """A mirror cursor holds no time: the nearest thing to a cursor past every record is one
        that already holds every row as it is. This is ``cursor`` with its keys in reverse order:
        the same rows, another string, so a connector that ignored it would yield every row.

        Raises:
            ValueError: ``cursor`` is not a mirror cursor.
        """
        seen = MirrorCursor.decode(cursor)
        if seen is None:
            raise ValueError(f"not a mirror cursor: {cursor[:80]!r}")
        builder = MirrorCursorBuilder(seen.columns)
        for key, digest in reversed(list(zip(seen.iter_keys(), seen.row_digests(), strict=True))):
            builder.add(key, digest)
        return builder.cursor().encode()

    def _new_row(self, name: str) -> dict[str, str]:
        stamp = self._next_stamp()
        key = f"C-{self._serial:04d}"
        email = name.lower().replace(" ", ".").replace("(", "").replace(")", "") + "@example.com"
        return {"id": key, "name": name, "email": email, "updated_at": stamp}

    def _next_stamp(self) -> str:
        self._serial += 1
        return (_START + dt.timedelta(minutes=self._serial)).isoformat()

    def _file(self) -> Path:
        if self._path is None:
            raise RuntimeError("FilesHarness.start() was not called")
        return self._path

    def _save(self) -> None:
        path = self._file()
        temporary = path.with_suffix(".tmp")
        with open(temporary, "w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=_COLUMNS)
            writer.writeheader()
            writer.writerows(self._rows)
        os.replace(temporary, path)
