"""A snapshot of every data source and its pages, in the API's response shapes.

Shape: ``{"data_sources": [{<data source object>, "pages": [<page object>, ...]}, ...]}`` with
data sources and pages in creation order; pages in the trash are included (``in_trash: true``).
Used by ``syncfw sandbox dump`` and by tests that look at the whole workspace at once.
"""

from __future__ import annotations

from typing import Any

from .workspace import Workspace


def dump(ws: Workspace) -> dict[str, Any]:
    """Every data source with its pages."""
    with ws.store.transaction():
        return {
            "data_sources": [
                {
                    **ws.render.data_source(source),
                    "pages": [ws.render.page(page) for page in ws.store.pages_by_source[source.id].values()],
                }
                for source in ws.store.data_sources.values()
            ]
        }
