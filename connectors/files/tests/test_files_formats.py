"""Every format reads into plain, JSON-like values: numbers, booleans, ISO 8601 text, None."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from syncfw_files import FilesConnector

from syncfw.connector import Record

if TYPE_CHECKING:
    from conftest import Read


def by_key(records: list[Record]) -> dict[str, dict[str, Any]]:
    return {r.key: dict(r.data) for r in records}


def test_csv_values_are_typed_from_text_and_keys_stay_text(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "id,name,seats,price,active,country,note\n"
        "007,Ada,12,9.5,true,NA,\n"
        '8,Grace,,10,false,FR,"two\nlines"\n'
        "\n"
        "9,Edsger,3,12.25,,DE,null\n"
    )

    records, _ = read({"path": str(path), "key": "id"}, stream="customers")

    rows = by_key(records)
    assert list(rows) == ["007", "8", "9"]
    assert rows["007"] == {
        "id": "007",
        "name": "Ada",
        "seats": 12,
        "price": 9.5,
        "active": True,
        "country": "NA",
        "note": None,
    }
    assert rows["8"]["seats"] is None and rows["8"]["note"] == "two\nlines"
    assert rows["8"]["price"] == 10 and type(rows["8"]["price"]) is int  # 10, not 10.0
    assert rows["9"]["active"] is None and rows["9"]["note"] == "null"
    assert all(type(r.data) is dict and not r.deleted for r in records)
    json.dumps([r.data for r in records])  # plain values only


def test_csv_values_do_not_depend_on_the_chunk_they_are_read_in(
    tmp_path: Path, read: Read, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pandas infers types per chunk; a number's value must not change with its neighbours."""
    path = tmp_path / "t.csv"
    path.write_text("id,n\n1,5\n2,5\n3,2.5\n4,\n5,7\n")

    small, _ = read({"path": str(path), "key": "id"})
    # chunks of 2 rows: {5, 5} are ints, {2.5, None} a float column, {7} an int column
    monkeypatch.setattr(FilesConnector, "chunk_rows", 2)
    chunked, _ = read({"path": str(path), "key": "id"})

    assert by_key(small) == by_key(chunked)
    assert [r.data["n"] for r in chunked] == [5, 5, 2.5, None, 7]


def test_csv_dtype_overrides_and_delimiter(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "zips.csv"
    path.write_text("id;zip;amount;joined\n1;01234;3;2026-05-01T10:30:00+02:00\n2;99999;4.5;2026-05-02\n")

    records, _ = read(
        {
            "path": str(path),
            "key": "id",
            "delimiter": ";",
            "dtype": {"zip": "string", "amount": "number", "joined": "date"},
        }
    )

    assert by_key(records) == {
        "1": {"id": "1", "zip": "01234", "amount": 3.0, "joined": "2026-05-01"},
        "2": {"id": "2", "zip": "99999", "amount": 4.5, "joined": "2026-05-02"},
    }
    assert type(records[0].data["amount"]) is float


def test_tsv_and_other_encodings(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "people.tsv"
    path.write_bytes("id\tname\n1\tJosé Müller\n".encode("cp1252"))

    records, _ = read({"path": str(path), "key": "id", "encoding": "cp1252"})

    assert records[0].data == {"id": "1", "name": "José Müller"}


def test_json_lines_keep_json_types_and_nesting(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "events.jsonl"
    lines: list[dict[str, Any]] = [
        {"id": 1, "score": 2.0, "ok": True, "tags": ["a", "b"], "owner": {"name": "Ada", "team": None}},
        {"id": 2, "score": None, "extra": "only here"},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")

    records, _ = read({"path": str(path), "key": "id"}, stream="events")

    rows = by_key(records)
    assert rows["1"] == {**lines[0], "extra": None}
    assert type(rows["1"]["score"]) is float  # JSON said 2.0: typed formats keep their types
    assert rows["2"] == {
        "id": 2,
        "score": None,
        "ok": None,
        "tags": None,
        "owner": None,
        "extra": "only here",
    }


def test_excel_cells_become_plain_values(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "pricing.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Prices"
    sheet.append(["SKU", "Name", "Price", "Stock", "Launched", "Modified"])
    sheet.append([1001, "Widget", 9.99, 10, dt.date(2026, 5, 1), dt.datetime(2026, 5, 1, 10, 30)])
    sheet.append([None, None, None, None, None, None])  # a blank row is skipped
    sheet.append(["A-7", "Gadget", 12, None, None, dt.datetime(2026, 5, 2, 8, 0, 5)])
    book.create_sheet("Notes").append(["nothing", "here"])
    book.save(path)

    records, _ = read({"path": str(path), "key": "SKU", "sheet": "Prices", "dtype": {"Launched": "date"}})

    assert by_key(records) == {
        "1001": {
            "SKU": "1001",
            "Name": "Widget",
            "Price": 9.99,
            "Stock": 10,
            "Launched": "2026-05-01",
            "Modified": "2026-05-01T10:30:00",
        },
        "A-7": {
            "SKU": "A-7",
            "Name": "Gadget",
            "Price": 12,
            "Stock": None,
            "Launched": None,
            "Modified": "2026-05-02T08:00:05",
        },
    }


def test_parquet_types_become_plain_values(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "orders.parquet"
    paris = dt.timezone(dt.timedelta(hours=2))
    table = pa.table(
        {
            "order_id": pa.array([1, 2], pa.int64()),
            "placed": pa.array(
                [dt.datetime(2026, 5, 1, 8, 30, tzinfo=dt.UTC), None], pa.timestamp("us", tz="Europe/Paris")
            ),
            "local": pa.array([dt.datetime(2026, 5, 1, 8, 30), None], pa.timestamp("ns")),
            "due": pa.array([dt.date(2026, 6, 1), None], pa.date32()),
            "total": pa.array([Decimal("19.90"), Decimal("20.00")], pa.decimal128(6, 2)),
            "weight": pa.array([1.5, float("nan")], pa.float64()),
            "qty": pa.array([None, 3], pa.int32()),
            "lines": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "ship": pa.array([{"city": "Paris", "zip": "75001"}, None]),
        }
    )
    pq.write_table(table, path, row_group_size=1)

    records, _ = read({"path": str(path), "key": "order_id"}, stream="orders")

    rows = by_key(records)
    assert rows["1"] == {
        "order_id": 1,
        "placed": dt.datetime(2026, 5, 1, 10, 30, tzinfo=paris).isoformat(),
        "local": "2026-05-01T08:30:00",
        "due": "2026-06-01",
        "total": 19.9,
        "weight": 1.5,
        "qty": None,
        "lines": ["a", "b"],
        "ship": {"city": "Paris", "zip": "75001"},
    }
    assert rows["1"]["placed"] == "2026-05-01T10:30:00+02:00"
    assert rows["2"] == {
        "order_id": 2,
        "placed": None,
        "local": None,
        "due": None,
        "total": 20,
        "weight": None,
        "qty": 3,
        "lines": [],
        "ship": None,
    }


def test_fields_select_columns_and_always_keep_key_and_updated_at(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        json.dumps({"id": "a", "at": "2026-05-01", "name": "x", "address": {"city": "Oslo"}, "n": 1})
    )

    records, _ = read({"path": str(path), "key": "id", "updated_at": "at"}, fields=("address.city",))

    assert records[0].data == {"id": "a", "at": "2026-05-01", "address": {"city": "Oslo"}}
