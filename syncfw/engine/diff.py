"""The three-way diff of one page's owned properties (DESIGN.md rule 2).

For each property the source owns:

* S, the desired value (from the source record, through the mapping),
* L, the last value syncfw wrote (from the state store; absent for a page syncfw never wrote),
* N, the live value in Notion.

All three are canonical values (see :func:`syncfw.mapping.normalize`), so representation
differences (``1`` and ``1.0``, date formats, rich text split in chunks) never count as change.
The state store keeps a long L only as a digest (:class:`~syncfw.state.written.Digest`, equal to
the value it stands for), which answers "is N what syncfw wrote?" exactly as the value would; the
value itself is needed only where L stands for S or N (the source sent nothing new for the
property, Notion was not read), and :meth:`PageDiff.resolve` takes it from the journal.

======================  ==============================================================
S = N                   nothing to write
N = L ≠ S, or no L      ordinary update: write S
N ≠ L                   drift (a human or another tool edited a source-owned property):
                        ``revert`` writes S and reports it; ``flag`` keeps N and reports
                        it while S = L, and writes S once the source changes
======================  ==============================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from syncfw.state.written import Digest

DriftPolicy = Literal["revert", "flag"]
_MISSING: Any = object()


@dataclass(frozen=True)
class Drift:
    """A source-owned property whose live value differs from what syncfw last wrote."""

    property: str
    synced: Any
    live: Any
    desired: Any
    action: Literal["reverted", "flagged", "overwritten"]


@dataclass
class PageDiff:
    """What to do with one page: ``writes`` maps property → value to send (S)."""

    writes: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    drift: list[Drift] = field(default_factory=list)
    agreed: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    """Properties to revert whose value syncfw wrote is no longer known (:meth:`resolve`)."""

    @property
    def changed(self) -> bool:
        return bool(self.writes)

    def resolve(self, resolve: Callable[[Mapping[str, Any]], Mapping[str, Any]]) -> None:
        """Replace the digests this diff holds (an L standing for S or N) by their values, which
        ``resolve`` finds (property → digest in, property → value out, those it found).

        A value not found (the journal no longer holds it): the write is not made, its drift is
        ``flagged`` and the property listed in ``unknown`` (the source's next value of it is
        written); a ``before`` is left out (rollback refuses to restore it); a drift's synced or
        desired value is None.
        """
        wanted = {
            n: v for part in (self.writes, self.before) for n, v in part.items() if isinstance(v, Digest)
        }
        wanted.update({d.property: d.synced for d in self.drift if isinstance(d.synced, Digest)})
        if not wanted:
            return
        found = resolve(wanted)
        for part in (self.writes, self.before):
            for name in [n for n, v in part.items() if isinstance(v, Digest)]:
                if name in found:
                    part[name] = found[name]
                else:
                    del part[name]
                    if part is self.writes:
                        self.unknown.append(name)
        self.before = {n: v for n, v in self.before.items() if n in self.writes}

        def known(value: Any, name: str) -> Any:
            return found.get(name) if isinstance(value, Digest) else value

        self.drift = [
            dataclasses.replace(
                d,
                synced=known(d.synced, d.property),
                desired=known(d.desired, d.property),
                action=d.action if d.property in self.writes else "flagged",
            )
            for d in self.drift
        ]


def diff_page(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    last: Mapping[str, Any] | None,
    policy: DriftPolicy,
) -> PageDiff:
    """Compare one page's owned properties.

    Args:
        desired: S, property → canonical value, for every property the source owns on the page.
        live: N, property → canonical value as Notion holds it now (missing properties are None).
        last: L, property → canonical value syncfw last wrote, or None when it never wrote the page.
        policy: the target's ``on_drift``.

    Returns:
        The writes to send, their before values (N), the drift findings, and ``agreed``: the
        properties where S = N already, whose L the caller may record without writing.
    """
    result = PageDiff()
    for name, s in desired.items():
        n = live.get(name)
        lv = last.get(name, _MISSING) if last is not None else _MISSING
        if s == n:
            result.agreed[name] = s
            continue
        if lv is _MISSING or lv == n:
            result.writes[name] = s
            result.before[name] = n
            continue
        if policy == "revert" or s != lv:
            result.writes[name] = s
            result.before[name] = n
            result.drift.append(Drift(name, lv, n, s, "reverted" if policy == "revert" else "overwritten"))
        else:
            result.drift.append(Drift(name, lv, n, s, "flagged"))
    return result
