"""Turning what pandas, pyarrow and json give into plain, JSON-like Python values.

Record data holds only ``None``, ``bool``, ``int``, ``float``, ``str``, ``list`` and ``dict``:

* missing values (empty cells, ``NaN``, ``NaT``, ``pd.NA``) become ``None``;
* numpy and pandas scalars become ``int``, ``float`` or ``bool``; decimals become ``int`` or ``float``;
* date-times become ISO 8601 text, with the offset when the column has a time zone
  (``2026-05-01T09:30:00+02:00``) and without one when it has none (``2026-05-01T09:30:00``);
  dates become ``YYYY-MM-DD``, times ``HH:MM:SS``, durations ISO 8601 durations (``P0DT1H0M0S``);
* lists and nested objects (JSON Lines, Parquet) keep their shape, converted the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

# integral floats from this size on are not exact integers, so they stay floats
_EXACT_INTEGERS = 2**53

Stamp = dt.datetime | int | float


def plain(value: Any, *, integral_floats_as_int: bool = False) -> Any:
    """``value`` as a plain, JSON-like Python value (see the module docstring).

    Args:
        value: a cell value as a reader returned it.
        integral_floats_as_int: turn ``2.0`` into ``2``. Set for columns whose type pandas
            inferred (CSV, Excel): a column with one empty cell or one decimal becomes a float
            column, and a number's value must not depend on its neighbours.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        if integral_floats_as_int and number.is_integer() and abs(number) < _EXACT_INTEGERS:
            return int(number)
        return number
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return plain(pd.Timestamp(value))
    if isinstance(value, dt.timedelta | np.timedelta64):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, Decimal):
        if value.is_nan():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    return str(value)


def is_empty(value: Any) -> bool:
    """True for a plain value that stands for an empty cell: None or blank text."""
    return value is None or (isinstance(value, str) and not value.strip())


def key_text(value: Any) -> str | None:
    """The record key for a plain key value, or None when the cell is empty.

    Numbers are written without a fraction when they are whole (``7.0`` → ``"7"``); text is kept
    as it is (``"007"``).
    """
    if is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def as_date(value: Any) -> str | None:
    """A plain value of a ``dtype: date`` column as ``YYYY-MM-DD``.

    Raises:
        ValueError: the value is not an ISO 8601 date or date-time.
    """
    if is_empty(value):
        return None
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date")
    return dt.datetime.fromisoformat(value.strip()).date().isoformat()


def stamp(value: Any) -> Stamp:
    """The comparable value of a plain ``updated_at`` value: a datetime or a number.

    Raises:
        ValueError: the value is empty, or neither an ISO 8601 date/date-time nor a number.
    """
    if is_empty(value):
        raise ValueError("it is empty")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not an ISO 8601 date-time or a number")
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 date-time or a number") from None
    return value
