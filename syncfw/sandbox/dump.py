"""``syncfw sandbox dump``: every data source the token can see, with its pages, as JSON.

Uses the real Notion API (search for data sources, then query each), so it works the same
against the sandbox and against a real workspace. Output shape::

    {"data_sources": [{"data_source": <data source object>, "pages": [<page object>, ...]}, ...]}
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import SecretStr

from syncfw.errors import ConfigError
from syncfw.notion.budget import RateBudget
from syncfw.notion.client import NotionClient


def dump_workspace(rate_limit: float = 50.0) -> dict[str, Any]:
    """Read every data source and page visible to ``NOTION_TOKEN`` at ``NOTION_BASE_URL``."""
    token = os.environ.get("NOTION_TOKEN")
    if not token:
        raise ConfigError("NOTION_TOKEN is not set: pass the sandbox's --env-file")
    client = NotionClient(SecretStr(token), RateBudget(rate_limit, burst=10))
    try:
        result = []
        for ds in client.search_data_sources(""):
            pages = list(client.query_pages(ds["id"]))
            for obj in [ds, *pages]:
                obj.pop("request_id", None)
            result.append({"data_source": ds, "pages": pages})
        return {"data_sources": result}
    finally:
        client.close()
