"""Durations as recipes and connector configs write them: ``30m``, ``4h30m``, ``2d``, ``1w``.

:data:`Duration` is the pydantic field type (``timedelta`` once validated); a connector's
``config_model`` uses it for look-backs and waits (``lookback: Duration = timedelta(minutes=5)``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_DURATION = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_DURATION_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
MAX_DURATION = timedelta(days=366)
"""The longest duration accepted (``stale_after``, a look-back): a source read once a year still fits."""
DURATION_SCHEMA = WithJsonSchema({"type": "string", "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"})
"""The JSON schema of a duration written as text."""


def parse_duration(value: Any) -> Any:
    """``value`` as a ``timedelta`` when it is a duration's text; anything else unchanged (pydantic
    then checks its type).

    Raises:
        ValueError: the text is not a duration, or is longer than :data:`MAX_DURATION`.
    """
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if not match or not any(match.groups()):
            raise ValueError("write a duration such as 30m, 1h, 4h30m or 2d")
        # summed as whole seconds first: timedelta() overflows on a huge count
        seconds = sum(
            int(n) * int(timedelta(**{unit: 1}).total_seconds())
            for unit, n in zip(_DURATION_UNITS, match.groups(), strict=True)
            if n
        )
        if seconds > MAX_DURATION.total_seconds():
            raise ValueError(f"must be at most {MAX_DURATION.days} days, e.g. 4h or 2d")
        return timedelta(seconds=seconds)
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration), DURATION_SCHEMA]
"""A duration field: ``30m``, ``1h``, ``4h30m``, ``2d``, ``1w`` (or a ``timedelta``); 0 allowed."""
