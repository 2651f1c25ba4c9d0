"""``NotionEmulator``: the workspace, its HTTP app and its knobs, in one object.

Typical use::

    from syncfw.sandbox.notion import NotionEmulator
    from syncfw.emulation.server import ServedApp
    from notion_client import Client

    emu = NotionEmulator(tmp_path, token="secret_sandbox", rate_limit=3, burst=10)
    served = ServedApp(emu.app)
    notion = Client(auth="secret_sandbox", base_url=served.url)   # no "/v1" in base_url
    db = notion.databases.create(parent={"page_id": emu.parent_page_id}, title=[...],
                                 initial_data_source={"properties": {...}})
    ...
    served.stop(); emu.close()
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from syncfw.emulation.faults import DEFAULT_OVERLOAD_RETRY_AFTER, FaultPlan

from . import humans
from .app import NotionApp
from .controls import QUERY_CAP, Controls, Fault, Knobs
from .dump import dump
from .pages import IMPORT_ROWS_PER_SECOND
from .store import Store
from .workspace import DEFAULT_PERSON, Clock, Workspace

_UNSET: Any = object()


class NotionEmulator:
    """A local emulation of the Notion API (Notion-Version 2025-09-03, data sources).

    Args:
        state_dir: where ``notion.sqlite`` keeps the workspace across restarts; ``None`` keeps it
            in memory for the life of the object.
        token: the integration token clients must send as ``Authorization: Bearer <token>``.
        rate_limit: average requests per second allowed on ``/v1/`` (``None``: unlimited).
        burst: requests allowed at once before the average applies.
        latency: seconds added before every ``/v1/`` answer.
        faults: random faults of ``/v1/`` requests: a :class:`~syncfw.emulation.faults.FaultPlan`
            or its compact form (``"429=0.1,500=0.05,reset=0.02,seed=7"``); see :meth:`configure`.
        clock: seconds since the epoch for ``created_time``/``last_edited_time`` (default
            :func:`time.time`); tests pass their own to cross minute boundaries.
        query_cap: results one data source query returns at most over all its pages (default
            10,000, Notion's limit); see :meth:`configure`.

    Attributes:
        app: the Starlette ASGI app; serve it with :class:`syncfw.emulation.server.ServedApp`.
        parent_page_id: the dashed id of the seeded page "syncfw sandbox", under which databases
            are created; the same across restarts on one ``state_dir``.
        bot_user_id: the integration's bot user (``last_edited_by`` of API writes).

    Errors from the ``human_*`` methods are :class:`~.errors.NotionAPIError`, with the same
    status, code and message the API would answer; a bad knob value is a ``validation_error``.
    """

    def __init__(
        self,
        state_dir: Path | None,
        *,
        token: str,
        rate_limit: float | None = None,
        burst: int = 10,
        latency: float = 0.0,
        faults: FaultPlan | str | None = None,
        clock: Clock | None = None,
        query_cap: int = QUERY_CAP,
    ) -> None:
        self._controls = Controls(
            Knobs(rate_limit=rate_limit, burst=burst, latency=latency, query_cap=query_cap)
        )
        if faults is not None:
            self._controls.configure(faults=faults)
        if state_dir is not None:
            state_dir.mkdir(parents=True, exist_ok=True)
        self._store = Store(state_dir / "notion.sqlite" if state_dir is not None else None)
        self._ws = Workspace(self._store, clock) if clock else Workspace(self._store)
        self._http = NotionApp(self._ws, self._controls, token)
        self.app = self._http.app
        self.parent_page_id = self._ws.parent_page_id
        self.bot_user_id = self._ws.bot_user_id

    def configure(
        self,
        *,
        rate_limit: float | None = _UNSET,
        burst: int = _UNSET,
        latency: float = _UNSET,
        retry_after: int | None = _UNSET,
        faults: FaultPlan | str | None = _UNSET,
        query_cap: int = _UNSET,
    ) -> dict[str, Any]:
        """Change knobs at runtime; omitted ones keep their value. Answers all current knobs.

        ``retry_after`` fixes the ``Retry-After`` of the rate limiter's 429 answers (``None``:
        the real wait, rounded up to whole seconds).

        ``faults`` makes ``/v1/`` requests fail at random, after authentication, the rate
        limiter and the latency: a :class:`~syncfw.emulation.faults.FaultPlan`, its compact form
        (:meth:`FaultPlan.parse <syncfw.emulation.faults.FaultPlan.parse>`) or ``None`` for no
        faults. Setting it starts the plan's seeded random sequence again. Answers carry
        Notion's error bodies (429 ``rate_limited``, 500 ``internal_server_error``, 502
        ``bad_gateway``, 503 ``service_unavailable``, 504 ``gateway_timeout``, 529
        ``service_overload``); ``reset`` and ``timeout`` reset the connection without an answer;
        ``lost_response`` applies a write and then loses its answer; ``late_commit`` answers a
        write 504 or times it out and applies it ``late_commit_after`` seconds later on the
        emulator's clock (:mod:`syncfw.emulation.faults`). The answered knob is the
        plan's compact form. :meth:`stats` counts the faults by kind.

        ``query_cap`` is how many results one data source query (a filter, sorts and trash
        flag) returns at most over all its pages; past it pagination stops and every page of
        the query carries ``request_status`` ``incomplete`` / ``query_result_limit_reached``
        (developers.notion.com, "Query large data sources"; Notion's cap is 10,000).

        Raises:
            NotionAPIError: ``validation_error`` naming the knob or fault setting that is wrong.
        """
        changes = {
            name: value
            for name, value in (
                ("rate_limit", rate_limit),
                ("burst", burst),
                ("latency", latency),
                ("retry_after", retry_after),
                ("faults", faults),
                ("query_cap", query_cap),
            )
            if value is not _UNSET
        }
        return vars(self._controls.configure(**changes)).copy()

    def inject_fault(
        self,
        endpoint: str,
        *,
        status: int = 500,
        after_commit: bool = False,
        times: int = 1,
        commit_after: float | None = None,
        retry_after: int | None = DEFAULT_OVERLOAD_RETRY_AFTER,
    ) -> None:
        """Make the next ``times`` requests to ``endpoint`` (e.g. ``"POST /v1/pages"``) fail.

        ``status`` is one of 409, 500, 502, 503, 504, 529 (answered with Notion's code and
        message); with ``after_commit`` the request is applied before the error is answered, as
        when a response is lost after the write happened; with ``commit_after`` (seconds) it is
        applied that long after the error was answered, on the emulator's clock (a late commit:
        Notion may finish a request it answered 504, and has no idempotency keys). A 529 carries
        ``Retry-After: retry_after`` (whole seconds, default 1; ``None``: no header).
        """
        self._controls.add_fault(Fault(endpoint, status, after_commit, times, commit_after, retry_after))

    def clear_faults(self) -> None:
        """Drop faults not yet used."""
        self._controls.clear_faults()

    def rotate_token(self) -> str:
        """Rotate the integration token, as its owner does in Notion's connection settings:
        answers the new token; the old one is refused from now on (:mod:`.tokens`)."""
        return self._http.tokens.rotate()

    def connect_oauth(
        self, client_id: str, client_secret: str, *, lifetime: float | None = None
    ) -> tuple[str, str]:
        """Authorize a public (OAuth) connection of ``client_id``, as a person's consent does:
        answers its first ``(access_token, refresh_token)``. With ``lifetime`` (seconds on the
        emulator's clock) every access token issued from now on expires that long after it was
        issued; ``POST /v1/oauth/token`` refreshes them, rotating the refresh token (:mod:`.tokens`)."""
        self._http.tokens.lifetime = lifetime
        return self._http.tokens.connect(client_id, client_secret)

    def expire_access_tokens(self, *, after: int = 0) -> None:
        """Every OAuth access token issued so far expires (refresh tokens keep working): now, or
        once ``after`` more ``/v1/`` requests have been let through (to expire one mid-run)."""
        self._http.tokens.expire_all(after)

    def human_edit(
        self, page_id: str, properties: dict[str, Any], *, user_name: str = DEFAULT_PERSON
    ) -> dict[str, Any]:
        """Update page properties (request value shapes) as a person; answers the page object.

        ``last_edited_by`` becomes that person and ``last_edited_time`` the current minute.
        """
        return humans.edit_page(self._settled(), page_id, properties, user_name)

    def human_create_page(
        self, data_source_id: str, properties: dict[str, Any], *, user_name: str = DEFAULT_PERSON
    ) -> dict[str, Any]:
        """Create a page in a data source as a person; answers the page object."""
        return humans.create_page(self._settled(), data_source_id, properties, user_name)

    def human_import(
        self,
        data_source_id: str,
        rows: Iterable[dict[str, Any]],
        *,
        user_name: str = DEFAULT_PERSON,
        rows_per_second: float = IMPORT_ROWS_PER_SECOND,
    ) -> int:
        """Import many pages at once as a person, like merging a CSV file into a data source in
        the Notion app (the pages exist before any integration touches them).

        ``rows`` are ``properties`` objects in request shapes, one per page, each checked like a
        ``POST /v1/pages``; a refused row raises and imports nothing. The pages are created and
        last edited by that person in the order of ``rows``, one after the other at
        ``rows_per_second`` (default 100), the last one at the clock's current time: a real
        import spreads its pages over minutes, so a large data source can be read in
        ``created_time`` windows under the query cap. It is one operation (no HTTP request,
        nothing counted in :meth:`stats`), so a large data source is seeded in seconds per
        hundred thousand pages. Answers how many pages were created.
        """
        return humans.import_rows(self._settled(), data_source_id, rows, user_name, rows_per_second)

    def human_trash_page(self, page_id: str, *, user_name: str = DEFAULT_PERSON) -> dict[str, Any]:
        """Move a page to the trash as a person; answers the page object."""
        return humans.trash_page(self._settled(), page_id, user_name)

    def human_update_schema(
        self, data_source_id: str, properties: dict[str, Any], *, user_name: str = DEFAULT_PERSON
    ) -> dict[str, Any]:
        """Rename (``{"name"}``), remove (``None``), add or retype properties as a person, like
        ``PATCH /v1/data_sources/{id}``; answers the data source object."""
        return humans.update_schema(self._settled(), data_source_id, properties, user_name)

    def stats(self) -> dict[str, Any]:
        """``{"requests": int, "by_endpoint": {"POST /v1/pages": n, ...}, "rate_limited": int,
        "faults": {"reset": n, ...}}``.

        ``requests`` counts every ``/v1/`` request; ``by_endpoint`` those past the rate limiter;
        ``rate_limited`` the limiter's 429 answers; ``faults`` the random faults injected, by
        kind (``rate_limited``, ``server_error``, ``overload``, ``timeout``, ``reset``,
        ``lost_response``, ``late_commit``; kinds that never happened are left out).
        """
        return self._controls.stats()

    def reset_stats(self) -> None:
        """Set the request counters back to zero and empty the request log."""
        self._controls.reset_stats()

    def requests(self) -> list[dict[str, Any]]:
        """``/v1/`` requests that got past the rate limiter, oldest first, with their JSON bodies:
        ``{"endpoint": "PATCH /v1/pages/{id}", "params": {"page_id": ...}, "body": {...}}``."""
        return self._controls.requests()

    def dump(self) -> dict[str, Any]:
        """Every data source with its pages, in response shapes (see :mod:`.dump`)."""
        return dump(self._settled())

    def _settled(self) -> Workspace:
        """The workspace with every late commit that is due applied (as a request would see it)."""
        self._http.late_commits.settle()
        return self._ws

    def close(self) -> None:
        """Write pending state and close the database; stop serving :attr:`app` first."""
        self._store.close()
