"""``syncfw status --publish``: the Sync Health rows and the alerts from the status alone.

A run writes the dashboard and sends alerts as it finishes; a recipe whose scheduler stopped has no
run to do so, so ``status --publish`` (called from a monitor) writes what :func:`recipe_status`
found, and a source turns stale in Notion and in the alert channels too.
"""

from __future__ import annotations

from collections.abc import Iterable

from syncfw.engine.run import notion_client_for
from syncfw.errors import SyncfwError
from syncfw.health.alerts import raise_alerts
from syncfw.health.dashboard import HealthDashboard
from syncfw.health.status import RecipeStatus
from syncfw.recipe import Recipe
from syncfw.state import open_state


def publish_statuses(statuses: Iterable[tuple[Recipe, RecipeStatus]]) -> list[str]:
    """Write each recipe's Sync Health rows and send the alerts whose state changed.

    Each recipe is published on its own: one that fails does not stop the others. Returns one
    line per recipe that could not be published (``"NAME: reason"``: the databases do not exist,
    Notion refused a request, an alert was not delivered), an empty list when all were.
    """
    problems: list[str] = []
    for recipe, status in statuses:
        client, store = notion_client_for(recipe), open_state(recipe)
        try:
            HealthDashboard(recipe).publish(client, store, status)
            raise_alerts(recipe, store, status)
        except SyncfwError as exc:
            problems.append(f"{recipe.name}: {exc}")
        finally:
            client.close()
            store.close()
    return problems
