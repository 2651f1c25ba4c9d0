"""Text for dashboards and alerts: one line, and never a secret of the recipe.

Error messages of syncfw are secret-free by contract; this is the second lock on the door for
text that leaves the machine (a Notion row, a chat message): every secret value the recipe holds
(the Notion token, alert URLs, connector secrets) is replaced by ``***``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from syncfw.recipe import Recipe
from syncfw.recipe.references import hide

MAX_LINE = 300
_SHORTEST_SECRET = 6


def recipe_secrets(recipe: Recipe) -> set[str]:
    """Every secret value of a loaded recipe. A connector config loaded without the plugin
    registry is a plain dict whose secret fields are unknown: all its text values count."""
    found = {recipe.notion.token.get_secret_value(), *(a.url.get_secret_value() for a in recipe.alerts)}
    for source in recipe.sources.values():
        found.update(_secrets_in(source.config, plain=isinstance(source.config, dict)))
    return {s for s in found if len(s) >= _SHORTEST_SECRET}


def _secrets_in(value: Any, *, plain: bool) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        yield value.get_secret_value().decode(errors="replace")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _secrets_in(getattr(value, name), plain=plain)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secrets_in(item, plain=plain)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _secrets_in(item, plain=plain)
    elif plain and isinstance(value, str):
        yield value


def scrub(text: str, recipe: Recipe) -> str:
    """``text`` with every secret value of ``recipe`` replaced by ``***``, also where an
    exception message quotes it escaped (see :func:`syncfw.recipe.references.hide`)."""
    return hide(text, recipe_secrets(recipe), _SHORTEST_SECRET)


def one_line(text: str | None, recipe: Recipe, limit: int = MAX_LINE) -> str:
    """The first line of ``text``, scrubbed and cut to ``limit`` characters ('' for None)."""
    if not text:
        return ""
    line = scrub(text.strip().splitlines()[0] if text.strip() else "", recipe)
    return line if len(line) <= limit else line[: limit - 1] + "…"
