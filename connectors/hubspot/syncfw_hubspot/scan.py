"""Walking the CRM search API through every record changed after a position, oldest first.

The search API pages with an offset (``after``: ``"200"``, ``"400"``...) and refuses to page past
10,000 results of one query with HTTP 400 (CRM search guide, "Limitations",
https://developers.hubspot.com/docs/api-reference/search/guide#limitations). Offsets also shift
when a record changes during the read: it leaves its place for the end of the order, and the
record that slides into the offset already passed is never seen. So no page is fetched by
offset: every page is a new search whose lower bound is the newest instant read so far (keyset
paging), filtered ``GTE`` that instant, with the ids already delivered at exactly that instant
skipped. The 10,000-result cap is never reached, and a record changed mid-read comes again at
the end instead of hiding another one.

When a whole page shares one instant (more records were stamped in one millisecond than a page
holds), sorting by the instant cannot tell them apart; that instant is then walked by
``hs_object_id`` (``GTE``/``LTE`` the instant, ``GT`` the last id, sorted by id), and the walk goes
on with ``GT`` the instant.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from syncfw import SourceError
from syncfw_hubspot.client import SearchFilter
from syncfw_hubspot.incremental import ID_PROPERTY, PRIMARY_KEY, Watermark, record_instant

#: ``search(filters, sort_property, limit)`` → the page's results, sorted ascending by the property
SearchPage = Callable[[Sequence[SearchFilter], str, int], list[dict[str, Any]]]
#: records not delivered before, each with its instant, and the position after them
Batch = tuple[list[tuple[dict[str, Any], int]], Watermark]


def scan_changes(search: SearchPage, prop: str, start: Watermark, limit: int) -> Iterator[Batch]:
    """Yield, page by page, the records whose ``prop`` is at or after ``start``, oldest first.

    Records ``start`` already delivered are left out. Each batch ends with the position after
    its records; the last batch may be empty.

    Raises:
        syncfw.errors.SourceError: a record has no readable instant (see
            :func:`~syncfw_hubspot.incremental.record_instant`).
    """
    position = start
    lower, exclusive = start.instant, False
    while True:
        filters = [] if lower is None else [SearchFilter(prop, "GT" if exclusive else "GTE", str(lower))]
        page = _timed(search(filters, prop, limit), prop)
        fresh, position = _fresh(page, position)
        yield fresh, position
        if len(page) < limit:
            return
        newest = max(instant for _, instant in page)
        if newest != lower:
            lower, exclusive = newest, False
            continue
        for batch in _scan_instant(search, prop, newest, position, limit):
            position = batch[1]
            yield batch
        exclusive = True


def _scan_instant(
    search: SearchPage, prop: str, instant: int, position: Watermark, limit: int
) -> Iterator[Batch]:
    """Every record at exactly ``instant``, by ascending ``hs_object_id``."""
    at_instant = [SearchFilter(prop, "GTE", str(instant)), SearchFilter(prop, "LTE", str(instant))]
    last_id: int | None = None
    while True:
        after_id = [] if last_id is None else [SearchFilter(ID_PROPERTY, "GT", str(last_id))]
        page = _timed(search([*at_instant, *after_id], ID_PROPERTY, limit), prop)
        fresh, position = _fresh(page, position)
        yield fresh, position
        if len(page) < limit:
            return
        last_id = max(int(record[PRIMARY_KEY]) for record, _ in page)


def _timed(page: list[dict[str, Any]], prop: str) -> list[tuple[dict[str, Any], int]]:
    timed: list[tuple[dict[str, Any], int]] = []
    for record in page:
        try:
            timed.append((record, record_instant(record, prop)))
        except ValueError as exc:
            raise SourceError(
                f"HubSpot record {record.get(PRIMARY_KEY)} has no readable {prop} ({exc})"
            ) from None
    return timed


def _fresh(page: list[tuple[dict[str, Any], int]], position: Watermark) -> Batch:
    fresh: list[tuple[dict[str, Any], int]] = []
    for record, instant in sorted(page, key=lambda item: item[1]):
        record_id = str(record[PRIMARY_KEY])
        if position.delivered(record_id, instant):
            continue
        position = position.advanced(record_id, instant)
        fresh.append((record, instant))
    return fresh, position
