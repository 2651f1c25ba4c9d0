"""Finding and loading recipes for the commands that read no source and no Notion (status, runs,
audit, renew): they must work on a monitoring host that does not hold every credential."""

from __future__ import annotations

import os
import re
from pathlib import Path

from syncfw.errors import ConfigError
from syncfw.recipe import Recipe, load_recipe
from syncfw.recipe.governance import recipe_files

_UNSET = re.compile(r"^environment variable ([A-Za-z_][A-Za-z0-9_]*) is not set")
_UNSET_ID = re.compile(r"not a Notion id: .*the value comes from \$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
NIL_ID = "00000000-0000-0000-0000-000000000000"
"""What an unset variable that must hold a Notion id stands for when a recipe is read offline."""


def recipe_paths(path: Path) -> list[Path]:
    """``path`` itself when it is a file, else the recipe files in the directory.

    Raises:
        ConfigError: the directory holds no recipe.
    """
    if not path.is_dir():
        return [path]
    found = recipe_files(path)
    if not found:
        raise ConfigError(f"{path}: no recipe files (*.yaml with a top-level recipe: key)")
    return found


def load_offline(path: Path) -> Recipe:
    """Load a recipe without the plugin registry (connector configs are not validated), with
    ``<NAME unset>`` for environment variables that are not set: status, history and lineage
    need neither credentials nor data source ids.

    Raises:
        ConfigError: any other mistake in the recipe or its mappings.
    """
    try:
        return load_recipe(path)
    except ConfigError as exc:
        unset = [_UNSET.match(p.message) for p in exc.problems]
        if not exc.problems or not all(unset):
            raise
        names = {m.group(1) for m in unset if m is not None}
    environ = {**os.environ, **{name: f"<{name} unset>" for name in names}}
    try:
        return load_recipe(path, environ=environ)
    except ConfigError as exc:
        # a variable that must hold a Notion id (a parent page) gets the nil id instead
        ids = [_UNSET_ID.search(p.message) for p in exc.problems]
        if not exc.problems or not all(m is not None and m.group(1) in names for m in ids):
            raise
        environ.update({m.group(1): NIL_ID for m in ids if m is not None})
    return load_recipe(path, environ=environ)
