"""``syncfw notion init`` for a recipe's targets: every target database created or extended.

Targets are set up in relation order, so that a relation property can name the data source of the
target it points to (Notion's relation property config needs its ``data_source_id``).
"""

from __future__ import annotations

from syncfw.notion.client import NotionClient
from syncfw.notion.schema import InitResult, init_target
from syncfw.recipe import Recipe
from syncfw.state import StateBackend


def init_targets(client: NotionClient, store: StateBackend, recipe: Recipe) -> list[InitResult]:
    """Create each target's database with the mapped property types, or add the properties it
    misses, and claim it for ``recipe`` (see :func:`~syncfw.notion.schema.init_target`); one
    result per target, in relation order.

    Raises:
        ConfigError: relations between targets form a cycle.
        GuardStop: another recipe claims a data source, or it is in Notion's trash; the targets
            before it are set up, the rest are not.
        NotionError: Notion refused a request.
    """
    data_sources: dict[str, str] = {}
    results: list[InitResult] = []
    for target in recipe.targets_in_order():
        result = init_target(client, store, target, data_sources, recipe.name)
        data_sources[target.name] = result.data_source_id
        results.append(result)
    return results
