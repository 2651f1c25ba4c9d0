"""What people do today: a plain notion-client script that, for each record of the file, looks
its page up by key and updates it (or creates it), with or without a pause between requests.

Both scripts are written the way such scripts usually are: the official client with its default
settings (it retries 429 answers after their ``Retry-After``), one request at a time, every
property sent on every update (the script does not know what changed).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from notion_client import Client

from bench.common import KEY_PROPERTY, properties


def read_rows(path: Path, limit: int) -> list[dict[str, str]]:
    """The first ``limit`` rows of the CSV file, as the script's ``csv.DictReader`` sees them."""
    with path.open(newline="") as data:
        reader = csv.DictReader(data)
        return [line for _, line in zip(range(limit), reader, strict=False)]


def lookup_and_update(
    base_url: str, token: str, data_source_id: str, lines: Iterable[dict[str, str]], pause: float
) -> None:
    """For each row: query the data source by key, then update the page found (or create it),
    sleeping ``pause`` seconds after every request."""
    notion = Client(auth=token, base_url=base_url)
    try:
        for line in lines:
            found = cast(
                dict[str, Any],
                notion.data_sources.query(
                    data_source_id=data_source_id,
                    filter={"property": KEY_PROPERTY, "rich_text": {"equals": line["key"]}},
                ),
            )
            time.sleep(pause)
            if found["results"]:
                notion.pages.update(page_id=found["results"][0]["id"], properties=properties(line))
            else:
                notion.pages.create(
                    parent={"type": "data_source_id", "data_source_id": data_source_id},
                    properties=properties(line),
                )
            time.sleep(pause)
    finally:
        notion.close()
