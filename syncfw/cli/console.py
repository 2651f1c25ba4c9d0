"""The terminal: ``out`` (stdout: tables, plans, JSON) and ``err`` (stderr: progress, warnings,
errors), so that stdout can be piped. Every command prints through these two rich consoles.

A pipe or a file has no width: off a terminal (and without ``COLUMNS``) ``out`` is
:data:`PIPE_WIDTH` columns wide, so that tables and lines keep their natural width instead of
rich's default of 80 columns, which wraps them mid-token (``syncfw plan … | less`` shows what the
terminal shows).
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

PIPE_WIDTH = 512
"""Columns of stdout off a terminal (wider than any table syncfw prints)."""

_piped = not (sys.stdout is not None and sys.stdout.isatty()) and not os.environ.get("COLUMNS")
out = Console(highlight=False, width=PIPE_WIDTH if _piped else None)
err = Console(stderr=True, highlight=False)


def print_table(table: Table, console: Console = out) -> None:
    """Print ``table``, or, when it is wider than the terminal, each row as one line of
    ``header: value`` pairs (a narrow terminal would otherwise wrap or cut its cells mid-token)."""
    wide = console.options.update(max_width=PIPE_WIDTH)
    if Measurement.get(console, wide, table).maximum <= console.width:
        console.print(table)
        return
    if table.title:
        console.print(table.title)
    headers = [str(column.header) for column in table.columns]
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    for row in rows:
        cells = [str(cell) for cell in row]
        rest = [
            f"{header}: {cell}" for header, cell in zip(headers[1:], cells[1:], strict=True) if cell.strip()
        ]
        console.print("  " + " · ".join([cells[0], *rest]) if cells[0].strip() else "    " + " · ".join(rest))
