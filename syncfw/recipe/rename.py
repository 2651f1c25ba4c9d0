"""Bringing a recipe back in line with Notion after a person renamed owned properties there.

A run follows a renamed property by its property id (:mod:`syncfw.notion.names`) and reports the
rename once; :func:`rename_edits` gives the edits that name each property in the mapping files as
Notion names it now (the key under ``properties:``, at the line and column the loader recorded),
and what is left to edit by hand; :func:`apply_edits` makes them, keeping every comment and the
rest of each line. ``syncfw notion rename`` shows them, and with ``--write`` makes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from syncfw.errors import ConfigError
from syncfw.recipe.model import Target

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.()/-]*$")


@dataclass(frozen=True)
class KeyEdit:
    """A property key of a mapping file to write as Notion names the property now."""

    file: Path
    line: int
    column: int
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column} {self.old!r} -> {self.new!r}"


def rename_edits(target: Target, renamed: Mapping[str, str]) -> tuple[list[KeyEdit], list[str]]:
    """The key edits for ``renamed`` (recipe name → name in Notion) of ``target``, and what is
    left to edit by hand (``file:line`` and why): the sync key (its claim in Notion names it:
    rename it back with ``syncfw notion init``), a match or ``owners:`` entry naming it."""
    edits: list[KeyEdit] = []
    by_hand: list[str] = []
    for old, new in renamed.items():
        if old == target.sync_key:
            by_hand.append(
                f"target {target.name}: {old!r} is the sync key (renamed {new!r}); run `syncfw notion init` "
                "to rename it back in Notion"
            )
            continue
        spec = target.properties.get(old)
        if spec is not None:
            edits.append(KeyEdit(spec.file, spec.line, spec.column, old, new))
        for mapping in target.mappings:
            if mapping.match is not None and mapping.match.property == old:
                by_hand.append(
                    f"{mapping.match.file}:{mapping.match.line}: match property {old!r} -> {new!r}"
                )
        if old in target.owner_lines:
            by_hand.append(f"targets.{target.name}.owners line {target.owner_lines[old]}: {old!r} -> {new!r}")
    return edits, by_hand


def apply_edits(edits: Iterable[KeyEdit]) -> None:
    """Rewrite each key in its file (plain, or double-quoted when YAML needs it).

    Raises:
        ConfigError: a file no longer holds the key where the recipe was loaded from (it was
            edited since); no file is written then.
    """
    texts: dict[Path, list[str]] = {}
    for edit in sorted(edits, key=lambda e: (str(e.file), e.line, -e.column)):
        lines = texts.setdefault(edit.file, edit.file.read_text(encoding="utf-8").splitlines(keepends=True))
        line = lines[edit.line - 1]
        start = edit.column - 1
        written = next(
            (
                form
                for form in (edit.old, json.dumps(edit.old), f"'{edit.old}'")
                if line.startswith(form, start)
            ),
            None,
        )
        if written is None:
            raise ConfigError(
                f"{edit.file}:{edit.line}:{edit.column}: {edit.old!r} is no longer there; load it again"
            )
        new = edit.new if _PLAIN.match(edit.new) and edit.new == edit.new.strip() else json.dumps(edit.new)
        lines[edit.line - 1] = line[:start] + new + line[start + len(written) :]
    for file, lines in texts.items():
        file.write_text("".join(lines), encoding="utf-8")
