"""The value types of recipe files (rates, durations, dates, Notion ids, cron schedules).

Each type validates and converts one YAML value, with the message a user sees at its
``file:line:col``; the models built from them are :mod:`syncfw.recipe.model` and
:mod:`syncfw.mapping.spec`. Connector configs use them too (``Duration``).
"""

from __future__ import annotations

import math
import re
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from cronsim import CronSim, CronSimError
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from syncfw.durations import DURATION_SCHEMA, parse_duration

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*s)?\s*$")
_NOTION_ID = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})$")
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,\-?LW#]+$")
_CRON_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
UNRESOLVED: ContextVar[frozenset[str]] = ContextVar("syncfw_unresolved_references", default=frozenset())
"""While recipes are checked without their environment (``syncfw validate`` without
``--check-env``): the values written as a reference to an unset variable (``${env:NAME}``). A
Notion id or a state URL written so is checked once it is resolved, at ``plan`` or ``run``."""
MIN_RATE = 1 / 86_400
"""The slowest configurable rate, in requests per second: one request a day. Anything slower
would make a run wait more than a day for each request, which is a typo, not a setting."""
MAX_RATE = 10_000.0
"""The fastest configurable rate, in requests per second: over three thousand times Notion's
documented average of 3 (developers.notion.com, "Request limits"); more is a typo."""
MAX_EVERY = 10_000
"""The most runs ``full_read_every`` and ``reconcile_every`` may count: a week of runs once a minute.
Rarer is never in practice (``reconcile_every: 0`` says so for reconciliation)."""


def rate_problem(rate: float) -> str | None:
    """Why ``rate`` (requests per second) cannot be a configured rate, or None when it can: it
    must be a finite number from :data:`MIN_RATE` to :data:`MAX_RATE`."""
    if not math.isfinite(rate):
        return f"{rate} is not a number of requests per second"
    if rate <= 0:
        return f"{rate:g} requests per second would never send a request: the rate must be positive, e.g. 3"
    if rate < MIN_RATE:
        return (
            f"{rate:g} requests per second would wait more than a day for each request: "
            "give at least one a day (0.0000116), e.g. 3"
        )
    if rate > MAX_RATE:
        return f"{rate:g} requests per second is more than {MAX_RATE:g} (Notion allows an average of 3)"
    return None


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("must be the email address of a named person who answers for it")
    return value


def _rate(value: Any) -> Any:
    if isinstance(value, str):
        match = _RATE.match(value)
        if not match:
            raise ValueError('write requests per second as a number or "N/s", e.g. 3/s')
        value = float(match.group(1))
    if isinstance(value, int | float) and not isinstance(value, bool):
        problem = rate_problem(float(value))
        if problem is not None:
            raise ValueError(problem)
        return float(value)
    return value


def _positive_duration(value: Any) -> Any:
    value = parse_duration(value)
    if isinstance(value, timedelta) and value <= timedelta(0):
        raise ValueError("must be longer than 0, e.g. 30m or 1h")
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("write a date as YYYY-MM-DD") from None
    return value


def _fraction(value: Any) -> Any:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if not match:
            raise ValueError("write a percentage such as 20% or a fraction such as 0.2")
        value = float(match.group(1)) / 100
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 1:
            raise ValueError("must be between 0% and 100%")
        return float(value)
    return value


def _notion_id(value: str) -> str:
    if not _NOTION_ID.match(value) and value not in UNRESOLVED.get():
        raise ValueError(
            "not a Notion id: give the 32 hex digits that end its link, with or without dashes, "
            "e.g. 1f2e3d4c5b6a47988776655443322110"
        )
    return value


def _cron(value: str) -> str:
    if value.strip() in _CRON_MACROS:
        return value
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ValueError('write a cron expression with five fields, e.g. "*/15 * * * *", or @hourly/@daily')
    try:
        CronSim(" ".join(fields), datetime(2000, 1, 1))
    except CronSimError as exc:
        raise ValueError(
            f"{exc} in the cron expression (minute 0-59, hour 0-23, day of month 1-31, month 1-12, "
            'day of week 0-7), e.g. "*/15 * * * *"'
        ) from None
    return value


Email = Annotated[str, AfterValidator(_email)]
NotionId = Annotated[str, AfterValidator(_notion_id)]
"""The id of a Notion page or data source: a UUID, 32 hex digits with or without dashes (Notion
accepts both in requests and answers with dashes; the id ends the object's link: developers.notion.com,
"Working with databases"). A ``${env:NAME}`` reference is checked once resolved."""
RequestsPerSecond = Annotated[
    float,
    BeforeValidator(_rate),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": MIN_RATE, "maximum": MAX_RATE},
                {"type": "string", "pattern": r"^\d+(\.\d+)?/s$"},
            ]
        }
    ),
]
PositiveDuration = Annotated[timedelta, BeforeValidator(_positive_duration), DURATION_SCHEMA]
Cron = Annotated[str, AfterValidator(_cron)]
"""A cron schedule: five fields, each checked by cronsim (the parser of healthchecks.io), or a
macro such as ``@hourly``."""
IsoDate = Annotated[date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})]
Fraction = Annotated[
    float,
    BeforeValidator(_fraction),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 1},
                {"type": "string", "pattern": r"^\d+(\.\d+)?%$"},
            ]
        }
    ),
]
