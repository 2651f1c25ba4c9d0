"""Incremental reads by ``SystemModstamp``: the SOQL a read sends and the cursor it leaves.

``SystemModstamp`` is the field Salesforce itself replicates by (REST API Developer Guide,
"Get a List of Updated Records",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm).
Many records share one value (a data load stamps thousands in the same second), and a
transaction can commit after a read with a stamp equal to the newest one that read saw. So a
read filters with ``>=`` the last stamp and skips the Ids it already delivered at exactly that
stamp: nothing is missed and nothing is delivered twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from syncfw.errors import ConfigError
from syncfw_salesforce.datetimes import soql_datetime_literal

PRIMARY_KEY = "Id"
CURSOR_FIELD = "SystemModstamp"
DELETED_FIELD = "IsDeleted"

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ModstampCursor:
    """Where an incremental read stopped.

    Attributes:
        modstamp: the newest ``SystemModstamp`` delivered, or None when nothing was read yet.
        ids: the Ids delivered whose ``SystemModstamp`` equals ``modstamp``.
    """

    modstamp: datetime | None = None
    ids: frozenset[str] = field(default_factory=frozenset)

    def encode(self) -> str:
        """The opaque cursor string kept by the engine: JSON with the stamp in ISO 8601."""
        stamp = self.modstamp.isoformat() if self.modstamp else None
        return json.dumps({CURSOR_FIELD: stamp, "ids": sorted(self.ids)}, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> ModstampCursor:
        """Read a cursor written by :meth:`encode`; None means "nothing read yet".

        Raises:
            ValueError: the string is not a cursor this connector wrote.
        """
        if cursor is None:
            return cls()
        try:
            data = json.loads(cursor)
            stamp = data[CURSOR_FIELD]
            ids = data["ids"]
            modstamp = datetime.fromisoformat(stamp) if stamp is not None else None
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a Salesforce cursor: {cursor[:80]!r}") from exc
        if modstamp is not None and modstamp.tzinfo is None:
            raise ValueError(f"not a Salesforce cursor (naive time): {cursor[:80]!r}")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"not a Salesforce cursor (bad ids): {cursor[:80]!r}")
        return cls(modstamp, frozenset(ids))

    def delivered(self, record_id: str, modstamp: datetime) -> bool:
        """True when a record read again with this stamp was already delivered before the cursor."""
        if self.modstamp is None:
            return False
        return modstamp < self.modstamp or (modstamp == self.modstamp and record_id in self.ids)


class CursorBuilder:
    """Accumulates delivered records, in ``SystemModstamp`` order, into the next cursor."""

    def __init__(self, start: ModstampCursor) -> None:
        self._modstamp = start.modstamp
        self._ids = set(start.ids)

    def add(self, record_id: str, modstamp: datetime) -> None:
        """Note one delivered record."""
        if self._modstamp is None or modstamp > self._modstamp:
            self._modstamp = modstamp
            self._ids = {record_id}
        elif modstamp == self._modstamp:
            self._ids.add(record_id)

    def cursor(self) -> ModstampCursor:
        """The cursor after every record added so far."""
        return ModstampCursor(self._modstamp, frozenset(self._ids))


def check_sobject_name(name: str) -> str:
    """Return ``name`` if it can be an sObject API name (``Account``, ``Invoice__c``).

    Raises:
        ConfigError: it cannot, so it must not be put into SOQL.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"{name!r} is not a Salesforce sObject name (expected e.g. 'Account' or 'Invoice__c')"
        )
    return name


def select_list(fields: Iterable[str], *, deletable: bool = True) -> list[str]:
    """``Id, SystemModstamp, IsDeleted`` then ``fields`` in order, each once (SOQL rejects a
    field selected twice, ignoring case). ``IsDeleted`` only when ``deletable``.

    Raises:
        ConfigError: a field path is not of the form ``Name`` or ``Owner.Name``.
    """
    selected: list[str] = []
    seen: set[str] = set()
    always = (PRIMARY_KEY, CURSOR_FIELD, DELETED_FIELD) if deletable else (PRIMARY_KEY, CURSOR_FIELD)
    for path in (*always, *fields):
        if not all(_NAME.fullmatch(part) for part in path.split(".")):
            raise ConfigError(
                f"{path!r} is not a Salesforce field path (expected e.g. 'Name' or 'Owner.Name')"
            )
        if path.lower() not in seen:
            seen.add(path.lower())
            selected.append(path)
    return selected


def incremental_soql(
    sobject: str, fields: Sequence[str], since: datetime | None, *, deletable: bool = True
) -> str:
    """The SOQL of one incremental read, oldest change first.

    ``SELECT Id, SystemModstamp, IsDeleted, <fields> FROM <sObject>
    [WHERE SystemModstamp >= <since>] ORDER BY SystemModstamp ASC, Id ASC``; without
    ``IsDeleted`` for sObjects that have no such field (``deletable=False``, e.g. ``User``).
    """
    selected = ", ".join(select_list(fields, deletable=deletable))
    where = f" WHERE {CURSOR_FIELD} >= {soql_datetime_literal(since)}" if since else ""
    return (
        f"SELECT {selected} FROM {check_sobject_name(sobject)}{where} "
        f"ORDER BY {CURSOR_FIELD} ASC, {PRIMARY_KEY} ASC"
    )
