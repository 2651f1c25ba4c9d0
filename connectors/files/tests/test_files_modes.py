"""Incremental reads by updated_at, and mirror reads with changes and deletes by absence."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from syncfw_files import FilesConfig, FilesConnector

from syncfw import SourceError
from syncfw.connector import Record

if TYPE_CHECKING:
    from conftest import Read

T1 = "2026-05-01T09:00:00+00:00"
T2 = "2026-05-01T10:00:00+00:00"
T3 = "2026-05-01T11:00:00+00:00"


def write_csv(path: Path, header: str, *rows: str) -> None:
    path.write_text("\n".join((header, *rows)) + "\n")


def test_incremental_cursor_neither_repeats_nor_misses_rows_at_its_timestamp(
    tmp_path: Path, read: Read
) -> None:
    path = tmp_path / "accounts.csv"
    config = {"path": str(path), "key": "id", "updated_at": "modified"}
    write_csv(path, "id,name,modified", f"A,Acme,{T1}", f"B,Bolt,{T2}", f"C,Cogs,{T2}")

    first, cursor = read(config, stream="accounts")
    # D saved after the first read with the same timestamp as the newest rows of that read
    write_csv(path, "id,name,modified", f"D,Dyna,{T2}", f"A,Acme,{T1}", f"B,Bolt,{T2}", f"C,Cogs,{T2}")
    second, cursor2 = read(config, cursor, stream="accounts")
    third, cursor3 = read(config, cursor2, stream="accounts")
    write_csv(path, "id,name,modified", f"D,Dyna,{T2}", f"A,Acme,{T1}", f"B,Bolt Ltd,{T3}", f"C,Cogs,{T2}")
    fourth, _ = read(config, cursor3, stream="accounts")

    assert [r.key for r in first] == ["A", "B", "C"]
    assert json.loads(cursor) == {
        "source": json.loads(cursor)["source"],  # the file's identity (see test_an_unchanged_file...)
        "v": 1,
        "mode": "incremental",
        "updated_at": T2,
        "keys": ["B", "C"],
    }
    assert [r.key for r in second] == ["D"]
    assert third == [] and cursor3 == cursor2  # nothing new: the same position again
    assert [(r.key, r.data["name"]) for r in fourth] == [("B", "Bolt Ltd")]
    assert not any(r.deleted for r in first + second + fourth)


def test_incremental_compares_time_zones_and_numbers(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    # 10:30+02:00 is 08:30 UTC: older than 09:00Z although its text sorts later
    write_csv(path, "id,at", "a,2026-05-01T09:00:00Z")
    _, cursor = read({"path": str(path), "key": "id", "updated_at": "at"})
    write_csv(
        path, "id,at", "a,2026-05-01T09:00:00Z", "b,2026-05-01T10:30:00+02:00", "c,2026-05-01T11:30:00+02:00"
    )
    records, _ = read({"path": str(path), "key": "id", "updated_at": "at"}, cursor)
    assert [r.key for r in records] == ["c"]

    numbers = tmp_path / "n.jsonl"
    numbers.write_text('{"id": 1, "version": 9}\n{"id": 2, "version": 10}\n')
    _, cursor = read({"path": str(numbers), "key": "id", "updated_at": "version"})
    numbers.write_text('{"id": 1, "version": 11}\n{"id": 2, "version": 10}\n')
    records, _ = read({"path": str(numbers), "key": "id", "updated_at": "version"}, cursor)
    assert json.loads(cursor)["updated_at"] == 10
    assert [(r.key, r.data["version"]) for r in records] == [("1", 11)]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a,2026-05-01T09:00:00Z", "b,"], "data row 2 (key 'b'): updated_at column 'at': it is empty"),
        (
            ["a,2026-05-01T09:00:00Z", "b,yesterday"],
            "data row 2 (key 'b'): updated_at column 'at': 'yesterday' is not",
        ),
        (
            ["a,2026-05-01T09:00:00Z", "b,2026-05-01T10:00:00"],
            "data row 2 (key 'b'): updated_at column 'at': its values",
        ),
    ],
)
def test_incremental_rejects_rows_without_a_usable_updated_at(
    tmp_path: Path, read: Read, rows: list[str], message: str
) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, "id,at", *rows)

    with pytest.raises(SourceError) as caught:
        read({"path": str(path), "key": "id", "updated_at": "at"})

    assert f"{path} {message}" in str(caught.value)


def test_mirror_yields_only_new_and_changed_rows_then_the_deletes(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "contacts.csv"
    config = {"path": str(path), "key": "id"}
    write_csv(path, "id,name,email", "1,Ada,ada@x.io", "2,Grace,grace@x.io", "3,Edsger,ed@x.io")

    first, cursor = read(config)
    write_csv(path, "id,name,email", "3,Edsger,ed@x.io", "1,Ada,ada@lovelace.io", "4,Alan,alan@x.io")
    second, cursor2 = read(config, cursor)
    third, cursor3 = read(config, cursor2)

    assert [r.key for r in first] == ["1", "2", "3"] and not any(r.deleted for r in first)
    assert [(r.key, r.deleted) for r in second] == [("1", False), ("4", False), ("2", True)]
    assert second[0].data == {"id": "1", "name": "Ada", "email": "ada@lovelace.io"}
    assert second[2].data == {"id": "2"}
    assert third == []  # nothing changed: no record, still a checkpoint
    assert json.loads(cursor3)["rows"] == 3


def test_mirror_yields_every_row_again_when_the_mapping_asks_for_other_columns(
    tmp_path: Path, read: Read
) -> None:
    path = tmp_path / "contacts.csv"
    write_csv(path, "id,name,email", "1,Ada,ada@x.io", "2,Grace,grace@x.io")

    _, cursor = read({"path": str(path), "key": "id"}, fields=("name",))
    same, _ = read({"path": str(path), "key": "id"}, cursor, fields=("name",))
    wider, _ = read({"path": str(path), "key": "id"}, cursor, fields=("name", "email"))

    assert same == []
    assert [r.data for r in wider] == [
        {"id": "1", "name": "Ada", "email": "ada@x.io"},
        {"id": "2", "name": "Grace", "email": "grace@x.io"},
    ]


def mirror_items(path: Path, cursor: str) -> tuple[list[Record], SourceError]:
    """What a mirror read yielded before it raised, and the error."""
    yielded: list[Record] = []
    connector = FilesConnector(FilesConfig(path=path, key="id"))
    with pytest.raises(SourceError) as caught:
        for item in connector.read("rows", cursor, ()):
            assert isinstance(item, Record)
            yielded.append(item)
    return yielded, caught.value


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda p: p.write_text("id,name\n"),
            "has no rows, but the previous read found 2: not reporting every row deleted",
        ),
        (lambda p: p.write_text(""), "is empty: expected a header row"),
        (lambda p: p.unlink(), "no such file"),
        (lambda p: p.write_text("id,name\n1,Ada\n2,Grace,extra\n"), "Expected 2 fields in line 3, saw 3"),
    ],
    ids=["header only", "zero bytes", "missing", "unparsable"],
)
def test_mirror_reports_no_deletes_after_an_empty_or_failed_read(
    tmp_path: Path, read: Read, damage: Callable[[Path], object], message: str
) -> None:
    path = tmp_path / "contacts.csv"
    write_csv(path, "id,name", "1,Ada", "2,Grace")
    _, cursor = read({"path": str(path), "key": "id"})

    damage(path)
    yielded, error = mirror_items(path, cursor)

    assert yielded == []
    assert str(path) in str(error) and message in str(error)


def test_a_file_that_starts_empty_reads_as_no_rows(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "contacts.csv"
    write_csv(path, "id,name")

    records, cursor = read({"path": str(path), "key": "id"})
    write_csv(path, "id,name", "1,Ada")
    later, _ = read({"path": str(path), "key": "id"}, cursor)

    assert records == [] and [r.key for r in later] == ["1"]


def test_a_cursor_of_the_other_mode_means_a_full_read_without_deletes(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, "id,at", f"1,{T1}", f"2,{T2}")
    _, incremental = read({"path": str(path), "key": "id", "updated_at": "at"})
    write_csv(path, "id,at", f"1,{T1}")

    mirrored, mirror_cursor = read(
        {"path": str(path), "key": "id", "updated_at": "at", "mode": "mirror"}, incremental
    )
    again, _ = read({"path": str(path), "key": "id", "updated_at": "at"}, mirror_cursor)

    assert [(r.key, r.deleted) for r in mirrored] == [("1", False)]
    assert [r.key for r in again] == ["1"]


@pytest.mark.parametrize(
    "cursor", ["not json", '{"v": 1, "mode": "mirror", "columns": [], "rows": 1, "digests": "@@"}']
)
def test_a_foreign_cursor_is_refused_with_what_to_do(tmp_path: Path, read: Read, cursor: str) -> None:
    path = tmp_path / "t.csv"
    write_csv(path, "id", "1")

    with pytest.raises(SourceError, match="reset the stream's cursor"):
        read({"path": str(path), "key": "id"}, cursor)


def scan(config: dict[str, str], stream: str = "rows") -> list[str]:
    return list(FilesConnector(FilesConfig.model_validate(config)).scan_keys(stream))


def test_the_key_scan_sees_a_row_removed_in_incremental_mode(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "accounts.csv"
    config = {"path": str(path), "key": "id", "updated_at": "modified"}
    write_csv(path, "id,name,modified", f"A,Acme,{T1}", f"B,Bolt,{T2}", ",,", f"C,Cogs,{T2}")
    _, cursor = read(config)
    write_csv(path, "id,name,modified", f"A,Acme,{T1}", f"C,Cogs,{T2}")

    records, _ = read(config, cursor)

    assert records == []  # an incremental read cannot see the delete
    assert scan(config) == ["A", "C"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (("A,Acme", "B,Bolt", "A,Again"), "key 'A' is already used by an earlier row"),
        (("A,Acme", ",Nameless"), "the key column 'id' is empty"),
        ((), "has no rows: not listing no keys"),
    ],
)
def test_the_key_scan_refuses_a_file_it_cannot_list_completely(
    tmp_path: Path, rows: tuple[str, ...], message: str
) -> None:
    path = tmp_path / "accounts.csv"
    write_csv(path, "id,name", *rows)

    with pytest.raises(SourceError, match=message):
        scan({"path": str(path), "key": "id", "mode": "mirror"})


def version_1_cursor(columns: tuple[str, ...], rows: list[dict[str, str]], key: str) -> str:
    """A mirror cursor as syncfw wrote it before version 2: the keys as one JSON array."""
    import base64
    import struct
    import zlib

    from syncfw_files.cursor import row_digester

    digest = row_digester(columns)
    keys = json.dumps([r[key] for r in rows]).encode()
    packed = struct.pack(f">{len(rows)}Q", *(digest(r) for r in rows))
    return json.dumps(
        {
            "v": 1,
            "mode": "mirror",
            "columns": list(columns),
            "rows": len(rows),
            "keys": base64.b64encode(zlib.compress(keys)).decode(),
            "digests": base64.b64encode(packed).decode(),
        }
    )


def test_a_version_1_mirror_cursor_still_finds_changed_new_and_deleted_rows(
    tmp_path: Path, read: Read
) -> None:
    path = tmp_path / "contacts.csv"
    config = {"path": str(path), "key": "id"}
    before = [{"id": "1", "name": "Ada"}, {"id": "2", "name": "Grace"}, {"id": "3", "name": "Edsger"}]
    old = version_1_cursor(("id", "name"), before, "id")
    write_csv(path, "id,name", "3,Edsger", "1,Ada Lovelace", "4,Alan")

    records, cursor = read(config, old)
    again, _ = read(config, cursor)

    assert [(r.key, r.deleted) for r in records] == [("1", False), ("4", False), ("2", True)]
    assert json.loads(cursor)["v"] == 2 and json.loads(cursor)["rows"] == 3
    assert again == []


def test_mirror_keys_with_commas_newlines_and_accents_survive_the_cursor(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.jsonl"
    config = {"path": str(path), "key": "id"}
    keys = ["a,b", "line\nbreak", 'quote"d', "é☃", "\\"]
    path.write_text("".join(json.dumps({"id": k, "n": i}) + "\n" for i, k in enumerate(keys)))
    _, cursor = read(config)
    path.write_text("".join(json.dumps({"id": k, "n": i}) + "\n" for i, k in enumerate(keys) if i != 1))

    records, _ = read(config, cursor)

    assert [(r.key, r.deleted) for r in records] == [("line\nbreak", True)]


@pytest.mark.parametrize("updated_at", [None, "modified"], ids=["mirror", "incremental"])
def test_an_unchanged_file_is_not_read_again_but_a_changed_one_always_is(
    tmp_path: Path, read: Read, updated_at: str | None
) -> None:
    """The cursor carries the file's SHA-256 digest: a read of the same bytes with the same config
    and columns yields that cursor at once. Bytes that changed are read even when the file keeps
    its size and modification time (a copy made with ``cp -p``), and so is the same file under
    another config or with other columns."""
    path = tmp_path / "accounts.csv"
    config = {"path": str(path), "key": "id", "updated_at": updated_at}
    write_csv(path, "id,name,modified", f"A,Acme,{T1}", f"B,Bolt,{T2}")
    first, cursor = read(config)
    write_csv(path, "id,name,modified", f"A,Acme,{T1}", f"B,Bolt,{T2}")  # rewritten, same bytes
    assert len(first) == 2 and read(config, cursor) == ([], cursor)
    stat = path.stat()
    write_csv(path, "id,name,modified", f"A,Acmf,{T3}", f"B,Bolt,{T2}")  # same size, new bytes
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed, cursor2 = read(config, cursor)
    assert [(r.key, r.data["name"]) for r in changed] == [("A", "Acmf")]
    assert cursor2 != cursor and read(config, cursor2) == ([], cursor2)
    renamed, _ = read({**config, "key": "name"}, cursor2)
    assert (
        sorted(r.key for r in renamed if not r.deleted) == ["Acmf", "Bolt"][: 2 if updated_at is None else 1]
    )
    only_name, _ = read(config, cursor2, fields=("name",))
    assert [r.key for r in only_name] == (["A", "B"] if updated_at is None else [])
