"""Fixtures: building the files connector the way a recipe does, and reading a stream in full."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from syncfw_files import FilesConfig, FilesConnector

from syncfw.connector import Checkpoint, Record

Read = Callable[..., tuple[list[Record], str]]


@pytest.fixture
def read() -> Read:
    """``read(config, cursor=None, fields=(), stream=None)`` → (records, cursor of the last checkpoint).

    Also checks the read ends with exactly one checkpoint, after every record.
    """

    def run(
        config: dict[str, Any], cursor: str | None = None, fields: tuple[str, ...] = (), stream: str = "rows"
    ) -> tuple[list[Record], str]:
        items = list(FilesConnector(FilesConfig.model_validate(config)).read(stream, cursor, fields))
        assert items and isinstance(items[-1], Checkpoint), "a read must end with a checkpoint"
        assert not any(isinstance(i, Checkpoint) for i in items[:-1])
        records = [i for i in items[:-1] if isinstance(i, Record)]
        assert all(r.stream == stream for r in records)
        return records, items[-1].cursor

    return run
