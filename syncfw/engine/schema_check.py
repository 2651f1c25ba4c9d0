"""Confirming each target's schema when the preflight used the copy kept from an earlier run.

A run that finds nothing new should cost one request per target (issue 16): its query. So the
preflight checks the data source object the state store kept from the last run that read it
(:func:`syncfw.notion.schema.kept_data_source`) instead of reading it again, and the run confirms
that copy with the pages its query returns: every page object carries each property of its data
source with its name, id and type (developers.notion.com, "Page properties"), so a page whose
properties are exactly the kept schema's shows that nobody renamed, retyped, added or deleted a
property. A page that differs, or a query Notion refuses, reads every target's data source again,
through the same preflight, before the run relies on it. A query that returns no page (an empty
target, or nothing edited and no page numbers to read a slice by) has nothing to read with the
schema: its plan is made with the kept copy, which is read again when the plan has something to
write (below); when that read shows the target's data source, schema, property names or claim
other than the kept copy's, the plan is not applied as made: the target is planned again, its
sources read again, with the schema read now (:meth:`SchemaCheck.targets`).

The first operation of a run's plans (written, or shown by ``syncfw plan``) reads every data
source the preflight took from its kept copy, so a schema that no longer fits, a data source in
the trash or claimed by another recipe still stops the run before anything is written (exit 4),
as when each run read it. A run with nothing to write notices a data source in the trash on its
daily database check (:data:`syncfw.notion.schema.DATABASE_RECHECK`) or on the first run that has
something to write.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from syncfw.errors import NotionNotFound, NotionRejected
from syncfw.notion.schema import ResolvedTarget
from syncfw.recipe import Target


def _shape(properties: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {name: (p.get("id"), p.get("type")) for name, p in properties.items() if isinstance(p, Mapping)}


def _same(kept: ResolvedTarget, now: ResolvedTarget) -> bool:
    """Whether a plan made with ``kept`` holds with ``now``: same data source, schema (by the
    recipe's names), renamed properties and claim."""
    return (kept.data_source_id, _shape(kept.schema), kept.names, kept.claim) == (
        now.data_source_id,
        _shape(now.schema),
        now.names,
        now.claim,
    )


class SchemaCheck:
    """The targets' resolved data sources, and which kept schemas are not confirmed yet.

    A run walks its targets through :meth:`targets`, reads each one's pages through :meth:`pages`
    and calls :meth:`before_writes` when a plan has an operation, planning the target again when
    it answers False.

    Args:
        resolved: the preflight's answer (:func:`syncfw.notion.schema.preflight`).
        refresh: the preflight again without kept copies (one ``GET /v1/data_sources/{id}`` per
            target); raises :class:`~syncfw.errors.GuardStop` when a schema no longer fits.
    """

    def __init__(
        self, resolved: dict[str, ResolvedTarget], refresh: Callable[[], dict[str, ResolvedTarget]]
    ) -> None:
        self.resolved = resolved
        self._refresh = refresh
        self.unconfirmed = {name for name, found in resolved.items() if found.cached}
        self._planned_with: dict[str, ResolvedTarget] = {}  # queries with no page: the kept copy used
        self._again: str | None = None

    def targets(self, targets: Iterable[Target]) -> Iterator[Target]:
        """``targets`` in turn, each once, and once more right after :meth:`before_writes` found
        its plan made with a kept copy that no longer holds (the caller plans it again)."""
        for target in targets:
            yield target
            while self._again == target.name:
                self._again = None
                yield target

    def before_writes(self, target: str) -> bool:
        """Before the first operation of ``target``'s plan is written (or shown): read every data
        source the preflight took from its kept copy (once per run), so that what pages cannot show
        stops the run before anything is written too: a data source or database moved to the trash,
        a relation pointed at another data source, another recipe's claim.

        Returns:
            False when ``target``'s plan was made with a kept copy (its query returned no page) that
            the data source read now contradicts: the plan is not to be applied, and
            :meth:`targets` gives ``target`` again to be planned with the schema read now.

        Raises:
            GuardStop: a data source is in the trash, claimed by another recipe, or no longer fits.
            NotionError: a read failed.
        """
        kept = self._planned_with.pop(target, None)
        if any(found.cached for found in self.resolved.values()):
            self.read_again()
        if kept is None or _same(kept, self.resolved[target]):
            return True
        self._again = target
        return False

    def read_again(self) -> None:
        """Every target's data source read now (one request each), through the preflight."""
        self.resolved = self._refresh()
        self.unconfirmed = set()
        self._planned_with = {}

    def pages(
        self, target: str, query: Callable[[], Iterator[dict[str, Any]]]
    ) -> Iterator[dict[str, Any]] | None:
        """The pages of ``target``'s query, its kept schema confirmed by the first one; None when
        the data sources were read again and the schema of ``target`` is not the kept one (the
        caller queries again with the schema now in :attr:`resolved`). A query with no page leaves
        the kept schema to :meth:`before_writes`.

        Raises:
            GuardStop: the schema read again no longer fits the recipe.
            NotionError: the query failed with a schema confirmed, or a read failed.
        """
        if target not in self.unconfirmed:
            return query()
        kept = self.resolved[target]
        try:
            pages = query()
            first = next(pages, None)
        except (NotionRejected, NotionNotFound):  # a property the filter names may be gone
            self.read_again()
            return None
        self.unconfirmed.discard(target)
        if first is None:
            self._planned_with[target] = kept
            return iter(())
        if _shape(first.get("properties", {})) == _shape(kept.schema):
            return itertools.chain([first], pages)
        self.read_again()
        return None
