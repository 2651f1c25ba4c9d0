"""syncfw-dagster: syncfw recipes as Dagster assets (like dagster-dbt and dagster-dlt).

* :func:`build_syncfw_definitions` — a directory of recipes as ``Definitions``: an asset per
  target, the source streams upstream, a job and a schedule per recipe, quarantine, drift and
  freshness checks, a concurrency pool per Notion token, :class:`SyncfwResource` bound.
* :func:`syncfw_assets` — one recipe's targets as a multi-asset, for a hand-written body.
* :class:`SyncfwResource` — runs a recipe in-process, as ``syncfw run`` does.
"""

from syncfw_dagster.assets import (
    build_syncfw_definitions,
    stream_key,
    syncfw_assets,
    token_pool,
)
from syncfw_dagster.resource import SyncfwResource, target_key

__all__ = [
    "SyncfwResource",
    "build_syncfw_definitions",
    "stream_key",
    "syncfw_assets",
    "target_key",
    "token_pool",
]
