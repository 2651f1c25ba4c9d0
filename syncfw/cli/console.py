"""The terminal: ``out`` (stdout: tables, plans, JSON) and ``err`` (stderr: progress, warnings,
errors), so that stdout can be piped. Every command prints through these two rich consoles."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)
