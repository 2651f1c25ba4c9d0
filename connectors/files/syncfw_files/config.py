"""The ``config`` block of a files source in a recipe: one local file, read as one stream.

```yaml
sources:
  pricing:
    connector: files
    config:
      path: data/pricing.xlsx   # a relative path resolves against the recipe's directory
      key: SKU
      updated_at: Modified      # optional; makes the default mode "incremental"
      sheet: Prices             # Excel only; default: the first sheet
```
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncfw import RecipePath

FileFormat = Literal["csv", "jsonl", "excel", "parquet"]
Mode = Literal["incremental", "mirror"]
ColumnType = Literal["string", "integer", "number", "boolean", "date"]

EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def format_from_extension(path: Path) -> FileFormat:
    """The format a file's extension implies (``.csv .tsv .jsonl .ndjson .xlsx .xlsm .parquet .pq``).

    Raises:
        ValueError: the extension is none of those.
    """
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        hint = " (save .xls workbooks as .xlsx)" if path.suffix.lower() == ".xls" else ""
        raise ValueError(
            f"cannot tell the format of {path.name!r} from its extension{hint}: set `format:` to "
            "csv, jsonl, excel or parquet"
        ) from None


class FilesConfig(BaseModel):
    """One local file read as one stream.

    Attributes:
        path: the file; a relative path resolves against the recipe's directory, like its
            ``mappings:``; ``~`` is the home directory.
        format: ``csv``, ``jsonl`` (JSON Lines: one JSON object per line), ``excel`` (``.xlsx``)
            or ``parquet``; default: from the extension (``.csv`` ``.tsv``, ``.jsonl`` ``.ndjson``,
            ``.xlsx`` ``.xlsm``, ``.parquet`` ``.pq``).
        key: the column holding each row's unique, non-empty key (the sync key's source).
        updated_at: a column holding when each row last changed (ISO 8601 date-times or dates,
            Excel date cells, Parquet timestamps, or numbers such as epoch seconds); it is the
            stream's cursor field.
        mode: ``incremental`` (rows whose ``updated_at`` is newer than the cursor; no deletes) or
            ``mirror`` (new and changed rows, and rows gone from the file reported deleted);
            default ``incremental`` when ``updated_at`` is set, else ``mirror``.
        sheet: the Excel sheet's name; default the first sheet.
        encoding: text encoding of CSV and JSON Lines files (a Python codec name); default UTF-8,
            with or without a byte order mark.
        delimiter: the CSV field separator, one character; default ``,`` (tab for ``.tsv``).
        dtype: column types for CSV and Excel files, which otherwise infer them from the values:
            ``string`` keeps values as text (leading zeros of ZIP codes stay), ``integer``,
            ``number`` (always a float), ``boolean``, ``date`` (``YYYY-MM-DD`` from a date-time
            cell or an ISO 8601 text). The key column is always read as text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: RecipePath
    format: FileFormat | None = None
    key: str = Field(min_length=1)
    updated_at: str | None = Field(default=None, min_length=1)
    mode: Mode | None = None
    sheet: str | None = Field(default=None, min_length=1)
    encoding: str | None = None
    delimiter: str | None = Field(default=None, min_length=1, max_length=1)
    dtype: dict[str, ColumnType] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _check_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r} (expected e.g. 'utf-8', 'cp1252', 'latin-1')"
                ) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> FilesConfig:
        fmt = self.file_format
        if self.mode == "incremental" and self.updated_at is None:
            raise ValueError(
                "mode 'incremental' needs `updated_at:` (the column that says when a row changed)"
            )
        if self.updated_at == self.key:
            raise ValueError("`updated_at` must be another column than `key`")
        only: list[tuple[str, object, tuple[FileFormat, ...]]] = [
            ("sheet", self.sheet, ("excel",)),
            ("delimiter", self.delimiter, ("csv",)),
            ("encoding", self.encoding, ("csv", "jsonl")),
            ("dtype", self.dtype or None, ("csv", "excel")),
        ]
        for name, value, formats in only:
            if value is not None and fmt not in formats:
                raise ValueError(f"`{name}` applies to {' and '.join(formats)} files only, not to {fmt}")
        if self.key in self.dtype:
            raise ValueError(f"the key column {self.key!r} is always read as text: remove it from `dtype`")
        return self

    @property
    def file_format(self) -> FileFormat:
        """``format``, or the format the extension implies."""
        return self.format or format_from_extension(self.path)

    @property
    def read_mode(self) -> Mode:
        """``mode``, or its default: ``incremental`` with ``updated_at``, else ``mirror``."""
        return self.mode or ("incremental" if self.updated_at else "mirror")

    @property
    def separator(self) -> str:
        """The CSV field separator: ``delimiter``, or tab for ``.tsv`` files, else a comma."""
        if self.delimiter is not None:
            return self.delimiter
        return "\t" if self.path.suffix.lower() == ".tsv" else ","

    @property
    def text_encoding(self) -> str:
        """The codec for CSV and JSON Lines; UTF-8 also skips a leading byte order mark."""
        if self.encoding is None or codecs.lookup(self.encoding).name == "utf-8":
            return "utf-8-sig"
        return self.encoding
