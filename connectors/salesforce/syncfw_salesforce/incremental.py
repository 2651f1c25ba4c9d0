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

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

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
        ids: the Ids delivered whose ``SystemModstamp`` equals ``modstamp``, each with a digest
            of the record as delivered. ``SystemModstamp`` has one-second resolution, so a
            record can change twice within the second the cursor stopped at: it is delivered
            again when its digest differs, and skipped (no duplicate) when it does not.
    """

    modstamp: datetime | None = None
    ids: Mapping[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        """The opaque cursor string kept by the engine: JSON with the stamp in ISO 8601."""
        stamp = self.modstamp.isoformat() if self.modstamp else None
        return json.dumps({CURSOR_FIELD: stamp, "ids": dict(sorted(self.ids.items()))}, separators=(",", ":"))

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
        if isinstance(ids, list):  # cursors written before digests were kept: deliver those once more
            ids = dict.fromkeys(ids, "")
        if not isinstance(ids, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in ids.items()
        ):
            raise ValueError(f"not a Salesforce cursor (bad ids): {cursor[:80]!r}")
        return cls(modstamp, ids)

    def delivered(self, record_id: str, modstamp: datetime, digest: str) -> bool:
        """True when this version of a record was already delivered before the cursor."""
        if self.modstamp is None:
            return False
        return modstamp < self.modstamp or (modstamp == self.modstamp and self.ids.get(record_id) == digest)


class CursorBuilder:
    """Accumulates delivered records, in ``SystemModstamp`` order, into the next cursor."""

    def __init__(self, start: ModstampCursor) -> None:
        self._modstamp = start.modstamp
        self._ids = dict(start.ids)

    def add(self, record_id: str, modstamp: datetime, digest: str) -> None:
        """Note one delivered record (``digest`` from :func:`record_digest`)."""
        if self._modstamp is None or modstamp > self._modstamp:
            self._modstamp = modstamp
            self._ids = {record_id: digest}
        elif modstamp == self._modstamp:
            self._ids[record_id] = digest

    def cursor(self) -> ModstampCursor:
        """The cursor after every record added so far."""
        return ModstampCursor(self._modstamp, dict(self._ids))


def record_digest(record: Mapping[str, Any]) -> str:
    """A short digest of a record's content (12 hex characters of SHA-256 of its JSON)."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


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
