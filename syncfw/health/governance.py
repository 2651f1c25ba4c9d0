"""Governance at run time: an expired experimental recipe does not run, and ``syncfw renew``.

What can be checked from the files alone (owner, description, tier and expiry window, alpha
connectors, personal data, production data sources) is checked when a recipe loads, in
:mod:`syncfw.recipe.governance`.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from ruamel.yaml import YAML

from syncfw.errors import ConfigError, GuardStop
from syncfw.recipe import Recipe
from syncfw.recipe.loader import EXPIRY_WINDOW
from syncfw.regular_files import DOCUMENT, read_regular


def check_runnable(recipe: Recipe, today: date) -> None:
    """Refuse to run an experimental recipe after its ``expires`` date (the date itself still runs).

    Pure: reads nothing but its arguments, so the CLI and the engine can both call it before
    anything is read.

    Raises:
        GuardStop: the recipe expired (exit 4); the message says how to renew it.
    """
    if recipe.tier == "experimental" and recipe.expires is not None and today > recipe.expires:
        raise GuardStop(
            f"recipe {recipe.name} is experimental and expired on {recipe.expires.isoformat()}; nothing was "
            f"read or written. If the experiment goes on, renew it: `syncfw renew {recipe.path}` (at most "
            f"{EXPIRY_WINDOW.days} days); if it is done, promote it to tier: production or delete it."
        )


def renew(path: Path, today: date, days: int = EXPIRY_WINDOW.days) -> tuple[date | None, date]:
    """Move the ``expires`` date of the experimental recipe file at ``path`` to ``today + days``.

    The file is edited in place with ruamel.yaml's round trip, so comments, quoting and layout are
    kept. Returns the old and the new date.

    Raises:
        ConfigError: ``days`` is outside 1..30, or the file is not an experimental recipe.
    """
    if not 1 <= days <= EXPIRY_WINDOW.days:
        raise ConfigError(f"--days must be between 1 and {EXPIRY_WINDOW.days}, not {days}")
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long lines
    try:
        data = yaml.load(read_regular(path, DOCUMENT).decode("utf-8"))
    except (OSError, UnicodeDecodeError) as exc:  # swapped for a FIFO or a device since it loaded
        raise ConfigError(f"{path}: cannot read the recipe again to renew it: {exc}") from None
    if not isinstance(data, dict) or data.get("tier") != "experimental":
        raise ConfigError(
            f"{path}: only an experimental recipe expires; this one is tier {data.get('tier')!r}"
            if isinstance(data, dict)
            else f"{path}: not a recipe"
        )
    before = data.get("expires")
    after = today + timedelta(days=days)
    data["expires"] = after
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    if isinstance(before, str):
        try:
            before = date.fromisoformat(before.strip())
        except ValueError:
            before = None
    return (before if isinstance(before, date) else None), after
