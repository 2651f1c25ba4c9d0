"""Local file paths in a connector's config, resolved against the directory of the recipe.

:data:`RecipePath` is the pydantic field type of a config option that names a local file (the
files connector's ``path:``): a relative path is resolved against the directory of the recipe
that holds it, like the recipe's ``mappings:`` and ``${file:PATH}`` references, so a recipe runs
the same from any working directory. Recipes are loaded with the validation context
``{RECIPE_DIR: <the recipe's directory>}``; a config built without that context (from Python,
e.g. a test harness's ``config()``) keeps a relative path relative to the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

RECIPE_DIR = "recipe_dir"
"""The key of the recipe's directory (a :class:`~pathlib.Path`) in the pydantic validation context
with which recipe loading validates each source's ``config``."""


def _against_recipe(path: Path, info: ValidationInfo) -> Path:
    path = path.expanduser()
    base = (info.context or {}).get(RECIPE_DIR)
    if base is None or path.is_absolute():
        return path
    return Path(os.path.normpath(Path(base).absolute() / path))


RecipePath = Annotated[Path, AfterValidator(_against_recipe)]
"""A local path: ``~`` expanded, and a relative path joined to the recipe's directory when the
config is loaded from a recipe (see the module's docstring)."""
