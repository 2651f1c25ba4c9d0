"""The three-way diff of one page's owned properties (DESIGN.md rule 2).

For each property the source owns:

* S, the desired value (from the source record, through the mapping),
* L, the last value syncfw wrote (from the state store; absent for a page syncfw never wrote),
* N, the live value in Notion.

All three are canonical values (see :func:`syncfw.mapping.normalize`), so representation
differences (``1`` and ``1.0``, date formats, rich text split in chunks) never count as change.

======================  ==============================================================
S = N                   nothing to write
N = L ≠ S, or no L      ordinary update: write S
N ≠ L                   drift (a human or another tool edited a source-owned property):
                        ``revert`` writes S and reports it; ``flag`` keeps N and reports
                        it while S = L, and writes S once the source changes
======================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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

    @property
    def changed(self) -> bool:
        return bool(self.writes)


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
