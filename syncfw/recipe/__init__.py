"""Recipes and mappings: the YAML files integrators write, loaded and checked with positions.

* :func:`load_recipe` reads a recipe and its mapping files into a :class:`Recipe`, or raises one
  :class:`~syncfw.errors.ConfigError` listing every mistake at ``file:line:col key.path``.
* :func:`load_mapping` reads one mapping file on its own.
* :func:`explain` lists every property of every target with its owner and origin (lineage).
* :func:`recipe_json_schema` / :func:`mapping_json_schema` give JSON Schemas for editors.

The pydantic models are at once the YAML shape and what the engine runs:
:mod:`syncfw.recipe.model` (recipes) and :mod:`syncfw.mapping.spec` (mappings).
"""

from syncfw.mapping.spec import (
    Aggregate,
    BoundMapping,
    MappingFile,
    MatchSpec,
    Position,
    PropertySpec,
    TransformCall,
)
from syncfw.recipe.explain import ExplainRow, explain
from syncfw.recipe.loader import load_mapping, load_recipe
from syncfw.recipe.model import (
    AlertRoute,
    DatabaseRef,
    Guard,
    MappingRef,
    NotionSettings,
    Recipe,
    Source,
    StateSettings,
    Target,
    mapping_json_schema,
    recipe_json_schema,
)

__all__ = [
    "Aggregate",
    "AlertRoute",
    "BoundMapping",
    "DatabaseRef",
    "ExplainRow",
    "Guard",
    "MappingFile",
    "MappingRef",
    "MatchSpec",
    "NotionSettings",
    "Position",
    "PropertySpec",
    "Recipe",
    "Source",
    "StateSettings",
    "Target",
    "TransformCall",
    "explain",
    "load_mapping",
    "load_recipe",
    "mapping_json_schema",
    "recipe_json_schema",
]
