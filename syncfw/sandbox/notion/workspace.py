"""The emulated workspace: state, clock, seeded objects and id lookups shared by the endpoints.

A new workspace is seeded once (and found again on restart with the same state directory) with:

* the integration's bot user (``GET /v1/users/me``), the actor of every API write;
* a person user, "Grace Hopper", the default actor of human edits;
* a top-level page "syncfw sandbox" shared with the integration, under which databases are made.

The endpoint modules (:mod:`.users`, :mod:`.databases`, :mod:`.pages`, :mod:`.search`) are
functions of a :class:`Workspace`; they raise :class:`~.errors.NotionAPIError` for every refusal.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import errors
from .ids import new_id, parse_id
from .model import Database, DataSource, Page, User
from .query import ResultCap
from .render import Renderer
from .richtext import text_items
from .schema import SchemaEditor
from .store import Store
from .values import ValueParser

Clock = Callable[[], float]
"""Seconds since the epoch, like :func:`time.time`."""

WORKSPACE_NAME = "syncfw sandbox"
DEFAULT_PERSON = "Grace Hopper"


class Workspace:
    """Everything an endpoint needs: the store, a renderer, the clock and the seeded ids.

    Attributes:
        store: the state (hold ``store.transaction()`` while reading or changing it).
        render: response shapes.
        bot_user_id: the integration's bot user.
        parent_page_id: the seeded "syncfw sandbox" page.
        result_cap: where each data source query stands against its result cap.
    """

    def __init__(self, store: Store, clock: Clock = time.time) -> None:
        self.store = store
        self.render = Renderer(store)
        self._clock = clock
        self.rng = random.Random()
        self._pinned: int | None = None
        self.result_cap = ResultCap()
        with store.transaction():
            if "bot_user_id" not in store.meta:
                self._seed()
        self.bot_user_id = store.meta["bot_user_id"]
        self.parent_page_id = store.meta["parent_page_id"]

    def _seed(self) -> None:
        now = self.now_ms()
        bot = User(id=new_id(), name=f"{WORKSPACE_NAME} integration", type="bot")
        self.store.put(bot)
        self.store.set_meta("bot_user_id", bot.id)
        self.store.set_meta("workspace_id", new_id())
        self.person(DEFAULT_PERSON)
        page = Page(
            id=new_id(),
            seq=self.store.next_seq(),
            parent_type="workspace",
            parent_id=None,
            values={"title": text_items(WORKSPACE_NAME)},
            created_time=now,
            last_edited_time=now,
            created_by=bot.id,
            last_edited_by=bot.id,
        )
        self.store.put(page)
        self.store.set_meta("parent_page_id", page.id)

    def now_ms(self) -> int:
        """The clock's time in epoch milliseconds (the pinned moment inside :meth:`at`)."""
        if self._pinned is not None:
            return self._pinned
        return int(self._clock() * 1000)

    @contextmanager
    def at(self, ms: int) -> Iterator[None]:
        """Hold the store's lock and let :meth:`now_ms` answer ``ms`` meanwhile: an operation
        that happened at that moment (a late commit) is applied with its own time."""
        with self.store.lock:
            self._pinned = ms
            try:
                yield
            finally:
                self._pinned = None

    def person(self, name: str) -> User:
        """The person user called ``name``, created (with an example.com email) if needed."""
        for user in self.store.users.values():
            if user.type == "person" and user.name == name:
                return user
        email = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") + "@example.com"
        user = User(id=new_id(), name=name, type="person", email=email)
        with self.store.transaction():
            self.store.put(user)
        return user

    def editor(self) -> SchemaEditor:
        """A schema editor for one operation."""
        return SchemaEditor(self.store, self.rng)

    def parser(self, editor: SchemaEditor) -> ValueParser:
        """A property value parser for one operation, creating options through ``editor``."""
        return ValueParser(self.store, editor, self.render.mention_text)

    def page(self, raw: str, param: str = "page_id") -> Page:
        """The page a path parameter names.

        Raises:
            NotionAPIError: 400 if ``raw`` is not a UUID, 404 if no such page.
        """
        page = self.store.pages.get(path_id(raw, param))
        if page is None:
            raise errors.not_found("page", path_id(raw, param))
        return page

    def database(self, raw: str, param: str = "database_id") -> Database:
        """The database a path parameter names (400 / 404 like :meth:`page`)."""
        database = self.store.databases.get(path_id(raw, param))
        if database is None:
            raise errors.not_found("database", path_id(raw, param))
        return database

    def data_source(self, raw: str, param: str = "data_source_id") -> DataSource:
        """The data source a path parameter names (400 / 404 like :meth:`page`)."""
        source = self.store.data_sources.get(path_id(raw, param))
        if source is None:
            raise errors.not_found("data_source", path_id(raw, param))
        return source

    def in_trash(self, page: Page) -> bool:
        """Whether a page, its data source or its database is in the trash."""
        if page.in_trash:
            return True
        if page.parent_type != "data_source":
            return False
        source = self.store.data_sources[str(page.parent_id)]
        return source.in_trash or self.store.databases[source.database_id].in_trash


def path_id(raw: str, param: str) -> str:
    """The dashed form of an id from the URL path, or 400 ``path.<param> should be a valid uuid``."""
    object_id = parse_id(raw)
    if object_id is None:
        raise errors.invalid_path_uuid(param, raw)
    return object_id


def body_id(value: Any, path: str) -> str:
    """The dashed form of an id from the body, or 400 ``body.<path> should be a valid uuid``."""
    object_id = parse_id(value)
    if object_id is None:
        raise errors.body_invalid(path, "a valid uuid", value if value is not None else errors.UNDEFINED)
    return object_id


def check_keys(body: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The body as an object, refusing keys the endpoint does not take (``should be not present``)."""
    if not isinstance(body, dict):
        raise errors.body_invalid("body", "an object", body)
    for key, value in body.items():
        if key not in allowed:
            raise errors.body_invalid(f"body.{key}", "not present", value)
    return body


def trash_flag(body: dict[str, Any]) -> bool | None:
    """``in_trash`` (or its deprecated alias ``archived``) from a body, if given."""
    flag = body.get("in_trash", body.get("archived"))
    if flag is not None and not isinstance(flag, bool):
        key = "in_trash" if "in_trash" in body else "archived"
        raise errors.body_invalid(f"body.{key}", "a boolean", flag)
    return flag


def icon_or_cover(value: Any, path: str) -> Any:
    """An ``icon``/``cover`` object as stored and answered: emoji or external file, or ``null``."""
    if value is None:
        return None
    if isinstance(value, dict):
        kind = value.get("type") or next(
            (k for k in ("emoji", "external", "file_upload") if k in value), None
        )
        if kind == "emoji" and isinstance(value.get("emoji"), str):
            return {"type": "emoji", "emoji": value["emoji"]}
        if kind == "external" and isinstance(value.get("external"), dict):
            return {"type": "external", "external": {"url": value["external"].get("url")}}
    raise errors.body_invalid(path, "an emoji or external file object", value)
