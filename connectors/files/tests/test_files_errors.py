"""Bad files, bad rows and bad settings give errors naming the file, the row and what to do."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
import pytest
from pydantic import ValidationError
from syncfw_files import FilesConfig, FilesConnector
from syncfw_files.config import FileFormat

from syncfw import SourceError

if TYPE_CHECKING:
    from conftest import Read


def error_of(read: Read, config: dict[str, Any], fields: tuple[str, ...] = ()) -> str:
    with pytest.raises(SourceError) as caught:
        read(config, fields=fields)
    return str(caught.value)


def test_duplicate_key_names_the_file_row_and_key(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\nA-1,Ada\nA-2,Grace\nA-1,Alan\n")

    message = error_of(read, {"path": str(path), "key": "id"})

    assert (
        message
        == f"{path} data row 3: key 'A-1' is already used by an earlier row: keys in column 'id' must be unique"
    )


def test_duplicate_key_in_incremental_mode_too(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 7, "at": 1}\n\n{"id": 7.0, "at": 2}\n')

    message = error_of(read, {"path": str(path), "key": "id", "updated_at": "at"})

    assert f"{path} line 3: key '7' is already used" in message


def test_empty_key_names_the_row(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name\n1,Ada\n  ,Grace\n")

    message = error_of(read, {"path": str(path), "key": "id"})

    assert message.startswith(f"{path} data row 2: the key column 'id' is empty")


def test_excel_errors_name_the_sheet_row(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "book.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Leads"
    for row in (["Email", "Name"], ["a@x.io", "Ada"], [None, None], [None, "Grace"]):
        sheet.append(row)
    book.save(path)

    message = error_of(read, {"path": str(path), "key": "Email", "sheet": "Leads"})
    missing_sheet = error_of(read, {"path": str(path), "key": "Email", "sheet": "Contacts"})

    assert message.startswith(f"{path} row 4 of sheet 'Leads': the key column 'Email' is empty")
    assert missing_sheet == f"{path} has no sheet named 'Contacts' (sheets: 'Leads')"


def test_unknown_columns_list_the_available_ones(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,name,email\n1,Ada,a@x.io\n")

    message = error_of(read, {"path": str(path), "key": "id"}, fields=("name", "phone", "owner.name"))

    assert message == (
        f"{path} has no column 'owner', 'phone' asked for by the mapping; its columns are: 'id', 'name', 'email'"
    )


@pytest.mark.parametrize(
    ("content", "config", "message"),
    [
        (
            "id,name\n1,Ada\n",
            {"key": "Id"},
            "has no column 'Id' (set as `key`); its columns are: 'id', 'name'",
        ),
        (
            "id,name\n1,Ada\n",
            {"key": "id", "updated_at": "modified"},
            "has no column 'modified' (set as `updated_at`)",
        ),
        (
            "id,name\n1,Ada\n",
            {"key": "id", "dtype": {"zip": "string"}},
            "has no column 'zip' (set as `dtype.zip`)",
        ),
        ("", {"key": "id"}, "is empty: expected a header row with the column names"),
        ("id,name\n1,Ada,x\n", {"key": "id"}, "data row 1 has more fields than the header row"),
    ],
)
def test_check_or_read_refuses_a_file_that_does_not_fit_the_config(
    tmp_path: Path, content: str, config: dict[str, Any], message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content)
    connector = FilesConnector(FilesConfig.model_validate({"path": str(path), **config}))

    with pytest.raises(SourceError) as caught:
        connector.check()
        list(connector.read("rows", None, ()))

    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_check_passes_and_names_a_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "t.csv").write_text("id\n1\n")
    monkeypatch.chdir(tmp_path)

    FilesConnector(FilesConfig(path=Path("t.csv"), key="id")).check()
    with pytest.raises(SourceError) as caught:
        FilesConnector(FilesConfig(path=Path("data/missing.csv"), key="id")).check()
    with pytest.raises(SourceError, match="is a directory"):
        FilesConnector(FilesConfig(path=tmp_path, key="id", format="csv")).check()

    assert str(caught.value) == (
        f"data/missing.csv: no such file (resolved from {tmp_path}): check `path` in the source's config"
    )


@pytest.mark.timeout(20)  # an open() of a FIFO that nobody writes would never return
@pytest.mark.parametrize("name", ["t.csv", "t.jsonl", "t.xlsx", "t.parquet"])
def test_a_fifo_is_refused_at_once_in_every_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    os.mkfifo(path)
    connector = FilesConnector(FilesConfig(path=path, key="id"))

    with pytest.raises(SourceError) as caught:
        connector.check()

    assert str(caught.value) == (
        f"{path} cannot be read: it is a FIFO (named pipe), not a regular file: give the path of a file"
    )


@pytest.mark.timeout(20)  # /dev/zero never ends: reading it would exhaust memory
@pytest.mark.parametrize("file_format", ["csv", "jsonl", "excel", "parquet"])
def test_a_device_is_refused_unread_in_every_format(file_format: FileFormat) -> None:
    connector = FilesConnector(FilesConfig(path=Path("/dev/zero"), key="id", format=file_format))

    with pytest.raises(
        SourceError, match=r"^/dev/zero cannot be read: it is a character device, not a regular"
    ):
        connector.check()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.jsonl", '{"id": 1}\n{"id": 2,\n', "line 2 is not valid JSON"),
        ("t.jsonl", '{"id": 1}\n[1, 2]\n', "line 2: expected a JSON object, got list"),
        ("t.parquet", "not parquet", "is not a readable Parquet file"),
        ("t.xlsx", "not a workbook", "is not a readable Excel .xlsx file"),
        ("t.csv", b"id,name\n1,Jos\xe9\n", "is not valid utf-8 text: set `encoding:` to the file's encoding"),
    ],
)
def test_unreadable_files_are_named(
    tmp_path: Path, read: Read, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)

    assert message in error_of(read, {"path": str(path), "key": "id"})


def test_dtype_that_does_not_fit_names_the_file(tmp_path: Path, read: Read) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,seats\n1,3\n2,many\n")

    message = error_of(read, {"path": str(path), "key": "id", "dtype": {"seats": "integer"}})

    assert message.startswith(f"{path} cannot be read as a CSV file (") and message.endswith("check `dtype:`")


def test_stream_is_the_file_stem_or_rows(tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_text("id,name,modified\n1,Acme,2026-05-01\n")
    connector = FilesConnector(FilesConfig(path=path, key="id", updated_at="modified"))

    spec = connector.stream("accounts")

    assert (spec.name, spec.primary_key, spec.cursor_field) == ("accounts", "id", "modified")
    assert spec.fields == ("id", "name", "modified")
    assert connector.stream("rows").name == "rows"
    with pytest.raises(SourceError) as caught:
        connector.stream("Account")
    with pytest.raises(SourceError, match="not 'Account'"):
        list(connector.read("Account", None, ()))
    assert str(caught.value) == (
        "a files source reads one file; its stream is 'accounts' (the file's name without extension) "
        "or 'rows', not 'Account'"
    )


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"path": "a.xls", "key": "id"}, "save .xls workbooks as .xlsx"),
        ({"path": "a.dat", "key": "id"}, "cannot tell the format of 'a.dat' from its extension"),
        ({"path": "a.csv", "key": "id", "mode": "incremental"}, "mode 'incremental' needs `updated_at:`"),
        (
            {"path": "a.parquet", "key": "id", "delimiter": ";"},
            "`delimiter` applies to csv files only, not to parquet",
        ),
        ({"path": "a.csv", "key": "id", "sheet": "S"}, "`sheet` applies to excel files only"),
        (
            {"path": "a.jsonl", "key": "id", "dtype": {"n": "integer"}},
            "`dtype` applies to csv and excel files only",
        ),
        (
            {"path": "a.csv", "key": "id", "dtype": {"id": "integer"}},
            "the key column 'id' is always read as text",
        ),
        ({"path": "a.csv", "key": "id", "encoding": "utf-9"}, "unknown encoding 'utf-9'"),
        ({"path": "a.csv", "key": "id", "delimiter": "||"}, "at most 1 character"),
        ({"path": "a.csv", "key": "id", "sheets": "S"}, "Extra inputs are not permitted"),
        (
            {"path": "a.csv", "key": "id", "updated_at": "id"},
            "`updated_at` must be another column than `key`",
        ),
    ],
)
def test_config_mistakes_are_refused_before_reading(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        FilesConfig.model_validate(config)

    assert message in str(caught.value)


def test_config_defaults() -> None:
    plain = FilesConfig.model_validate({"path": "Data/Leads.TSV", "key": "id"})
    dated = FilesConfig.model_validate({"path": "leads.ndjson", "key": "id", "updated_at": "at"})

    assert (plain.file_format, plain.read_mode, plain.separator) == ("csv", "mirror", "\t")
    assert (dated.file_format, dated.read_mode) == ("jsonl", "incremental")
    assert FilesConfig.model_validate({"path": "x.txt", "key": "id", "format": "csv"}).separator == ","
    assert "path" in json.dumps(FilesConfig.model_json_schema())
