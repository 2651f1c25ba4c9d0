"""Python ``logging`` (what connectors and libraries write) in the command's log format.

With ``--log-format json`` every log record becomes one more JSON line of the command's log,
``{"time", "level", "event": "log", "logger", "message", "run_id", "recipe"}``, so a log collector
never meets a plain-text line among the JSON ones. Records below WARNING are dropped (the default
of Python's ``logging``: a connector's ``log.info`` is not meant for the operator).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol


class EventLog(Protocol):
    """Where JSON lines go (:class:`~syncfw.cli.render.JsonLog`)."""

    def emit(self, event: str, level: str = "info", **fields: Any) -> None: ...


class JsonLogHandler(logging.Handler):
    """A ``logging`` handler that writes each record through an :class:`EventLog` as an
    ``event: "log"`` line with the record's level (``warning``, ``error``, ``critical``), logger
    name and message (the exception's type and message appended when one is attached)."""

    def __init__(self, log: EventLog) -> None:
        super().__init__(level=logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                message += f" ({type(error).__name__}: {error})"
            self.log.emit("log", level=record.levelname.lower(), logger=record.name, message=message)
        except Exception:  # a log line must never end the run: logging's own convention
            self.handleError(record)


def log_as_json(log: EventLog) -> None:
    """Send every WARNING-or-above ``logging`` record through ``log`` (and nowhere else: Python's
    last-resort handler would print it as plain text on stderr)."""
    logging.basicConfig(level=logging.WARNING, handlers=[JsonLogHandler(log)], force=True)
