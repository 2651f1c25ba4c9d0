"""Text for dashboards and alerts: one line, and never a secret of the recipe.

Error messages of syncfw are secret-free by contract; this is the second lock on the door for
text that leaves the machine (a Notion row, a chat message): every secret value the recipe holds
(the Notion token, alert URLs, connector secrets) is replaced by ``***``.
"""

from __future__ import annotations

from syncfw.recipe import Recipe
from syncfw.secrets import hide

MAX_LINE = 300


def scrub(text: str, recipe: Recipe) -> str:
    """``text`` with every secret value of ``recipe`` replaced by ``***``, also where an
    exception message quotes it escaped (see :func:`syncfw.secrets.hide`)."""
    return hide(text, recipe.secrets())


def one_line(text: str | None, recipe: Recipe, limit: int = MAX_LINE) -> str:
    """The first line of ``text``, scrubbed and cut to ``limit`` characters ('' for None)."""
    if not text:
        return ""
    line = scrub(text.strip().splitlines()[0] if text.strip() else "", recipe)
    return line if len(line) <= limit else line[: limit - 1] + "…"
