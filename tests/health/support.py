"""Helpers for the health tests: a webhook receiver on 127.0.0.1, recipe copies, setup in the sandbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from syncfw.engine.run import notion_client_for
from syncfw.health import init_dashboard
from syncfw.notion.schema import init_target
from syncfw.recipe import Recipe
from syncfw.state import StateStore
from tests.conftest import RECIPE

REPO = RECIPE.parents[1]
FAST = 500.0


class Receiver:
    """Every POST received: ``(path, JSON body)``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def url(self, path: str) -> str:
        """An apprise URL posting JSON to ``path`` of this receiver."""
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def at(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.posts if p == path]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A real HTTP server on a free loopback port, collecting the JSON bodies posted to it."""
    received: list[tuple[str, dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            received.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver = Receiver(server.server_address[1])
    receiver.posts = received
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def recipe_copy(
    directory: Path, name: str = "recipe.yaml", *, extra: str = "", replace: dict[str, str] | None = None
) -> Path:
    """The shipped recipe written to ``directory`` (mappings still found), with ``extra`` appended."""
    text = RECIPE.read_text().replace("../mappings/", f"{REPO}/mappings/")
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path = directory / name
    path.write_text(text + extra)
    return path


def init_all(recipe: Recipe, *, dashboard: bool = True) -> dict[str, str]:
    """``syncfw notion init``: the targets, then (with ``dashboard``) the Sync Health and Sync
    Runs databases."""
    client = notion_client_for(recipe, FAST)
    store = StateStore(recipe.state_path)
    try:
        ids: dict[str, str] = {}
        for target in recipe.targets_in_order():
            ids[target.name] = init_target(client, store, target, ids).data_source_id
        for result in init_dashboard(client, store, recipe) if dashboard else ():
            ids[result.target] = result.data_source_id
        return ids
    finally:
        client.close()
        store.close()


def plain(prop: dict[str, Any]) -> Any:
    """A Notion property value as a plain value (text joined, select name, date start)."""
    kind = prop["type"]
    value = prop[kind]
    if kind in ("title", "rich_text"):
        return "".join(t["plain_text"] for t in value)
    if kind == "select":
        return value["name"] if value else None
    if kind == "date":
        return value["start"] if value else None
    return value
