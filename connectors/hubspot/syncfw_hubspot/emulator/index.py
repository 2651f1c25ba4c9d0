"""The CRM search index: what ``POST /crm/v3/objects/{type}/search`` sees, some seconds behind writes.

HubSpot's CRM search guide, "Limits" (https://developers.hubspot.com/docs/api-reference/search/guide):
"It may take a few moments for newly created or updated CRM objects to appear in search results",
and "Archived CRM objects won't appear in any search results". The basic endpoints (list, read by
id, associations) see a write at once; search sees the version it last indexed. HubSpot gives no
bound and no order: integrators report several seconds (Locoia's HubSpot connector notes,
"Propagation Time", https://docs.locoia.com/connectors/connectors/hubspot; Sequin, "How we built
our sync on HubSpot's API": "The Search API is eventually consistent"). So each write here reaches
the index after its own delay, a share of :attr:`SearchIndex.lag` drawn at random (seeded, so a
run is repeatable), and a later write can be indexed before an earlier one: a reader that reads
``GTE`` its newest stamp can miss a change stamped before it.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: the longest delay, in seconds, before a write is searchable (HubSpot: "a few moments")
SEARCH_LAG_SECONDS = 10.0

Key = tuple[str, str]


@dataclass(frozen=True)
class _Version:
    """One written version of a record: searchable from ``visible_at`` (epoch milliseconds);
    ``record`` None means the record was not in the index (not yet created)."""

    visible_at: int
    record: dict[str, Any] | None


class SearchIndex:
    """The versions of records that search shows, per object type and id.

    Records never written through the portal (seed data) are indexed as they are. A write keeps
    the version before it searchable until the new one's delay has passed.

    Args:
        lag: the longest delay of a write, in seconds (0: every write is searchable at once).
        clock: the portal's clock, epoch milliseconds.
        seed: seed of the delays drawn.
    """

    def __init__(self, lag: float, clock: Callable[[], int], seed: int = 0) -> None:
        self.lag = lag
        self._clock = clock
        self._random = random.Random(seed)
        self._versions: dict[Key, list[_Version]] = {}

    @property
    def lag(self) -> float:
        """The longest delay of a write, in seconds."""
        return self._lag

    @lag.setter
    def lag(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the search index lag must be 0 or more seconds, was {seconds}")
        self._lag = float(seconds)

    def written(
        self, key: Key, record: dict[str, Any], *, before: dict[str, Any] | None, delay: float | None
    ) -> None:
        """Note a write of ``record`` (copied); ``before`` is the version search showed until now
        (None for a new record); ``delay`` in seconds, default a random share of :attr:`lag`."""
        wait = self._random.uniform(0, self._lag) if delay is None else delay
        if wait < 0:
            raise ValueError(f"an index delay must be 0 or more seconds, was {wait}")
        versions = self._versions.setdefault(key, [])
        if not versions:
            versions.append(_Version(-1, copy.deepcopy(before)))
        versions.append(_Version(self._clock() + round(wait * 1000), copy.deepcopy(record)))

    def view(self, key: Key, record: dict[str, Any]) -> dict[str, Any] | None:
        """The version of ``record`` (its current state) that search shows now, or None."""
        versions = self._versions.get(key)
        if not versions:
            return record
        now = self._clock()
        if versions[-1].visible_at <= now:
            del self._versions[key]
            return record
        shown = max(i for i, version in enumerate(versions) if version.visible_at <= now)
        del versions[:shown]
        return versions[0].record

    def forget(self, key: Key) -> None:
        """Drop every version of a record that no longer exists anywhere."""
        self._versions.pop(key, None)
