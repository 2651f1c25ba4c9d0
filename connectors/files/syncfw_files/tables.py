"""Reading one file's columns and rows, a bounded chunk at a time, whatever its format.

* CSV: pandas ``read_csv`` in chunks of ``chunk_rows`` rows; only empty cells are missing values
  (``NA``, ``null`` or ``N/A`` stay text); blank lines are skipped; a row with more fields than
  the header is an error.
* Excel: pandas ``read_excel`` with openpyxl, one sheet at a time. A workbook cannot be read in
  parts, so the sheet is held whole (Excel caps a sheet at 1,048,576 rows).
* JSON Lines: one JSON object per line, parsed with :mod:`json` so values keep their JSON types
  and errors carry the exact line; blank lines are skipped. The columns are every member name
  met in the file, in order of appearance.
* Parquet: pyarrow, record batches of at most ``chunk_rows`` rows.

pyarrow is imported here only for Parquet files. pandas (3.1) imports it too whenever it is
installed (``pandas.compat.pyarrow``, whatever the engine or ``dtype_backend``), so a CSV or Excel
read loads it anyway: about 65 of the 140 MiB that ``import pandas`` costs.

The file must be a regular file (not a FIFO or a device); it is streamed, so its size is not
bounded. Every failure is a :class:`~syncfw.errors.SourceError` naming the file (and the row or line).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO, ClassVar

import pandas as pd

from syncfw import SourceError
from syncfw.connector import open_regular
from syncfw_files.config import ColumnType, FilesConfig
from syncfw_files.identity import file_errors

Row = dict[str, Any]

# pandas dtypes of the `dtype:` choices; "date" is converted after reading (see values.as_date)
_PANDAS_TYPES: dict[ColumnType, str] = {
    "string": "string",
    "integer": "Int64",
    "number": "Float64",
    "boolean": "boolean",
}


class Table(ABC):
    """One file of a files source.

    Attributes:
        label: how messages name the file (its ``path`` as configured).
        typed: True when the format stores value types (JSON Lines, Parquet); False when pandas
            infers them from the text (CSV, Excel).
    """

    typed: ClassVar[bool]

    def __init__(self, config: FilesConfig, chunk_rows: int) -> None:
        self.config = config
        self.path = config.path
        self.label = str(config.path)
        self.chunk_rows = chunk_rows

    @abstractmethod
    def columns(self) -> list[str]:
        """The file's column names, in file order.

        Raises:
            SourceError: the file is missing, unreadable or not of its format.
        """

    @abstractmethod
    def rows(self, columns: Sequence[str]) -> Iterator[tuple[int, Row]]:
        """``(number, row)`` for every row, in file order, with only ``columns`` (all of them
        existing). Values are as the reader gives them (see :func:`syncfw_files.values.plain`).

        Raises:
            SourceError: the file is missing, unreadable or not of its format.
        """

    def where(self, number: int) -> str:
        """Where row ``number`` is, for messages."""
        return f"data row {number}"

    def open(self) -> BinaryIO:
        """The file, opened for reading if it is a regular file: a FIFO would block the run for
        ever and a device such as ``/dev/zero`` never end (see :mod:`syncfw.regular_files`).

        Raises:
            OSError: not a regular file, missing, unreadable (use inside :meth:`errors`).
        """
        return open_regular(self.path)

    def unreadable(self) -> tuple[type[Exception], ...]:
        """What the readers raise for a file that is not in the expected format."""
        return (pd.errors.ParserError, zipfile.BadZipFile)

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """Turn the failures of reading the file into :class:`SourceError`; ``what`` names the format."""
        with file_errors(self.config):
            try:
                yield
            except UnicodeDecodeError as exc:
                raise SourceError(
                    f"{self.label} is not valid {exc.encoding} text: set `encoding:` "
                    "to the file's encoding, e.g. cp1252 or latin-1"
                ) from None
            except pd.errors.EmptyDataError:
                raise SourceError(
                    f"{self.label} is empty: expected a header row with the column names"
                ) from None
            except pd.errors.ParserWarning:
                raise SourceError(
                    f"{self.label} data row 1 has more fields than the header row: quote values that "
                    "contain the separator"
                ) from None
            except self.unreadable() as exc:
                raise SourceError(f"{self.label} is not a readable {what} file: {exc}") from None
            except ValueError as exc:
                # pandas' errors for values that do not fit a `dtype:` type, and for malformed files
                hint = ": check `dtype:`" if self.config.dtype else ""
                raise SourceError(f"{self.label} cannot be read as a {what} file ({exc}){hint}") from None


class CsvTable(Table):
    """A CSV file with a header row."""

    typed = False

    def columns(self) -> list[str]:
        with self.errors("CSV"), self.open() as file:
            header = pd.read_csv(file, sep=self.config.separator, encoding=self.config.text_encoding, nrows=0)
        return [str(c) for c in header.columns]

    def rows(self, columns: Sequence[str]) -> Iterator[tuple[int, Row]]:
        # Every column is parsed (no usecols, no implicit index column) so that a row with more
        # fields than the header, usually an unquoted separator inside a value, is an error rather
        # than silently shifted or cut. pandas only warns when it is the first data row.
        number = 0
        with (
            self.errors("CSV"),
            self.open() as file,
            pd.read_csv(
                file,
                sep=self.config.separator,
                encoding=self.config.text_encoding,
                index_col=False,
                dtype=_pandas_types(self.config, columns),
                keep_default_na=False,
                na_values=[""],
                dtype_backend="numpy_nullable",
                chunksize=self.chunk_rows,
            ) as chunks,
        ):
            while True:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", pd.errors.ParserWarning)
                    try:
                        chunk = chunks.get_chunk()
                    except StopIteration:
                        return
                for row in _frame_rows(chunk, columns):
                    number += 1
                    yield number, row


class ExcelTable(Table):
    """One sheet of an ``.xlsx`` workbook whose first row holds the column names."""

    typed = False

    def unreadable(self) -> tuple[type[Exception], ...]:
        # imported here: openpyxl (and lxml) take a third of the connector's import time, and only
        # workbooks need them
        from openpyxl.utils.exceptions import InvalidFileException

        return (*super().unreadable(), InvalidFileException)

    def columns(self) -> list[str]:
        with self.errors("Excel .xlsx"), self.open() as file, pd.ExcelFile(file, engine="openpyxl") as book:
            header = pd.read_excel(book, sheet_name=self._sheet(book), nrows=0)
        return [str(c) for c in header.columns]

    def rows(self, columns: Sequence[str]) -> Iterator[tuple[int, Row]]:
        with self.errors("Excel .xlsx"), self.open() as file, pd.ExcelFile(file, engine="openpyxl") as book:
            sheet = pd.read_excel(
                book,
                sheet_name=self._sheet(book),
                usecols=list(columns),
                dtype=_pandas_types(self.config, columns),
                keep_default_na=False,
                na_values=[""],
                dtype_backend="numpy_nullable",
            )
        yield from enumerate(_frame_rows(sheet, columns), start=1)

    def where(self, number: int) -> str:
        # pandas keeps blank rows, so data row n is sheet row n + 1, below the header row
        sheet = f"sheet {self.config.sheet!r}" if self.config.sheet else "the first sheet"
        return f"row {number + 1} of {sheet}"

    def _sheet(self, book: pd.ExcelFile) -> str | int:
        if self.config.sheet is None:
            return 0
        if self.config.sheet not in book.sheet_names:
            names = ", ".join(repr(str(n)) for n in book.sheet_names)
            raise SourceError(f"{self.label} has no sheet named {self.config.sheet!r} (sheets: {names})")
        return self.config.sheet


class JsonLinesTable(Table):
    """A JSON Lines file: one JSON object per line."""

    typed = True

    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for _, obj in self._objects():
            seen.update(dict.fromkeys(obj))
        return list(seen)

    def rows(self, columns: Sequence[str]) -> Iterator[tuple[int, Row]]:
        for number, obj in self._objects():
            yield number, {c: obj.get(c) for c in columns}

    def where(self, number: int) -> str:
        return f"line {number}"

    def _objects(self) -> Iterator[tuple[int, Mapping[str, Any]]]:
        with (
            self.errors("JSON Lines"),
            io.TextIOWrapper(self.open(), encoding=self.config.text_encoding) as lines,
        ):
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise SourceError(f"{self.label} line {number} is not valid JSON: {exc}") from None
                if not isinstance(obj, dict):
                    raise SourceError(
                        f"{self.label} line {number}: expected a JSON object, got {type(obj).__name__}"
                    )
                yield number, obj


class ParquetTable(Table):
    """A Parquet file, read one record batch at a time."""

    typed = True

    def unreadable(self) -> tuple[type[Exception], ...]:
        import pyarrow as pa  # type: ignore[import-untyped]  # only Parquet files need it

        return (*super().unreadable(), pa.ArrowException)

    def columns(self) -> list[str]:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        with self.errors("Parquet"), self.open() as file, pq.ParquetFile(file) as parquet:
            return [str(name) for name in parquet.schema_arrow.names]

    def rows(self, columns: Sequence[str]) -> Iterator[tuple[int, Row]]:
        import pyarrow.parquet as pq

        number = 0
        with self.errors("Parquet"), self.open() as file, pq.ParquetFile(file) as parquet:
            # one thread: the rows are consumed one at a time, and decoding a row group's columns
            # in parallel holds their buffers at once (+13 MiB at 200,000 rows in one row group)
            batches = parquet.iter_batches(
                batch_size=self.chunk_rows, columns=list(columns), use_threads=False
            )
            for batch in batches:
                for row in _zip_rows(columns, [batch.column(c).to_pylist() for c in columns]):
                    number += 1
                    yield number, row


_TABLES: dict[str, type[Table]] = {
    "csv": CsvTable,
    "excel": ExcelTable,
    "jsonl": JsonLinesTable,
    "parquet": ParquetTable,
}


def open_table(config: FilesConfig, chunk_rows: int) -> Table:
    """The :class:`Table` for the configured file and format (nothing is read yet)."""
    return _TABLES[config.file_format](config, chunk_rows)


def _frame_rows(frame: pd.DataFrame, columns: Sequence[str]) -> Iterator[Row]:
    """The rows of ``frame`` as dicts of ``columns``, built column by column (much faster than
    ``DataFrame.to_dict``)."""
    return _zip_rows(columns, [frame[c].tolist() for c in columns])


def _zip_rows(columns: Sequence[str], values: list[list[Any]]) -> Iterator[Row]:
    for row in zip(*values, strict=True):
        yield dict(zip(columns, row, strict=True))


def _pandas_types(config: FilesConfig, columns: Sequence[str]) -> dict[str, str]:
    types = {c: _PANDAS_TYPES[t] for c, t in config.dtype.items() if t in _PANDAS_TYPES and c in columns}
    types[config.key] = "string"
    return types
