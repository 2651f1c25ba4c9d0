"""Incremental reads by ``SystemModstamp``: the SOQL a read sends and the cursor it leaves.

``SystemModstamp`` is the field Salesforce itself replicates by (REST API Developer Guide,
"Get a List of Updated Records",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getupdated.htm).
Many records share one value (a data load stamps thousands in the same second), and the stamp is
taken when a transaction starts while its rows become visible when it commits: a query can return
a row stamped *before* one an earlier query already returned. Salesforce's own replication call
says so: ``latestDateCovered`` of ``getUpdated()`` marks "changes that started after this date but
did not complete" and is the start of the next call, held back while a long-running transaction
is open (SOAP API Developer Guide, "GetUpdatedResult",
https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_getupdated_getupdatedresult.htm).
A transaction runs at most 10 minutes (Apex Developer Guide, "Execution Governors and Limits":
maximum execution time for each Apex transaction,
https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/apex_gov_limits.htm).

So a read filters with ``>=`` the newest stamp it saw minus a *look-back* window
(:data:`DEFAULT_LOOKBACK`, 10 minutes), and the cursor keeps a digest of every record delivered
with a stamp inside that window: a record in the window is delivered again only when it is new
(committed late) or changed since; nothing is missed and nothing unchanged is delivered twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from syncfw import ConfigError
from syncfw_salesforce.datetimes import soql_datetime_literal

PRIMARY_KEY = "Id"
CURSOR_FIELD = "SystemModstamp"
DELETED_FIELD = "IsDeleted"
DEFAULT_LOOKBACK = timedelta(minutes=10)
"""How far before its cursor an incremental read looks: the longest a Salesforce transaction can
run (10 minutes, Apex "Execution Governors and Limits"), so a row stamped when its transaction
started is still read when it commits."""

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class ModstampCursor:
    """Where an incremental read stopped.

    Attributes:
        modstamp: the newest ``SystemModstamp`` delivered, or None when nothing was read yet.
        recent: Id → (``SystemModstamp``, digest of the record as delivered) for every record
            delivered with a stamp inside the look-back window before ``modstamp``. A record read
            again in the window is skipped when it matches, and delivered when it does not (it
            committed late, or changed again within the same second).

    Encoded as JSON, the records grouped by stamp:
    ``{"SystemModstamp": "2026-05-01T07:25:37+00:00", "recent": {"<stamp>": {"<Id>": "<digest>"}}}``.
    Cursors written before the look-back (``{"SystemModstamp": ..., "ids": {...}}`` or a list of
    Ids) are still read: their Ids count as delivered at ``modstamp`` and the rest of the window is
    delivered once more (the engine's diff makes that cost no Notion write).
    """

    modstamp: datetime | None = None
    recent: Mapping[str, tuple[datetime, str]] = field(default_factory=dict)

    def encode(self) -> str:
        """The opaque cursor string kept by the engine: JSON with stamps in ISO 8601."""
        grouped: dict[str, dict[str, str]] = {}
        for record_id, (stamp, digest) in sorted(self.recent.items(), key=lambda item: (item[1][0], item[0])):
            grouped.setdefault(stamp.isoformat(), {})[record_id] = digest
        newest = self.modstamp.isoformat() if self.modstamp else None
        return json.dumps({CURSOR_FIELD: newest, "recent": grouped}, separators=(",", ":"))

    @classmethod
    def decode(cls, cursor: str | None) -> ModstampCursor:
        """Read a cursor written by :meth:`encode` (or by a version before the look-back); None
        means "nothing read yet".

        Raises:
            ValueError: the string is not a cursor this connector wrote.
        """
        if cursor is None:
            return cls()
        entries: list[tuple[Any, datetime | None, Any]]
        try:
            data = json.loads(cursor)
            modstamp = _aware(data[CURSOR_FIELD]) if data[CURSOR_FIELD] is not None else None
            if "recent" in data:
                entries = [
                    (record_id, _aware(at), digest)
                    for at, ids in data["recent"].items()
                    for record_id, digest in ids.items()
                ]
            else:  # written before the look-back: the Ids delivered at exactly the cursor's stamp
                ids = data["ids"]
                if isinstance(ids, list):  # written before digests were kept: deliver those once more
                    ids = dict.fromkeys(ids, "")
                entries = [(record_id, modstamp, digest) for record_id, digest in ids.items()]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a Salesforce cursor: {cursor[:80]!r}") from exc
        recent: dict[str, tuple[datetime, str]] = {}
        for record_id, at, digest in entries:
            if not (isinstance(record_id, str) and isinstance(at, datetime) and isinstance(digest, str)):
                raise ValueError(f"not a Salesforce cursor (bad ids): {cursor[:80]!r}")
            recent[record_id] = (at, digest)
        return cls(modstamp, recent)

    def since(self, lookback: timedelta) -> datetime | None:
        """The oldest ``SystemModstamp`` the next read asks for: the cursor's stamp minus
        ``lookback``; None (read everything) when nothing was read yet."""
        return self.modstamp - lookback if self.modstamp is not None else None

    def delivered(self, record_id: str, modstamp: datetime, digest: str, lookback: timedelta) -> bool:
        """True when this version of a record was already delivered: it is older than the
        look-back window, or the window holds it with the same stamp and digest."""
        since = self.since(lookback)
        if since is None:
            return False
        return modstamp < since or self.recent.get(record_id) == (modstamp, digest)


def _aware(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError("a stamp must be a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("naive time")
    return moment


class CursorBuilder:
    """Accumulates delivered records into the next cursor, keeping those inside the look-back window.

    The window ends at the newest ``SystemModstamp`` delivered and reaches ``lookback`` before
    it, so the cursor holds at most the records changed within ``lookback`` of the newest one.
    """

    def __init__(self, start: ModstampCursor, lookback: timedelta) -> None:
        self._modstamp = start.modstamp
        self._recent = dict(start.recent)
        self._lookback = lookback

    def add(self, record_id: str, modstamp: datetime, digest: str) -> None:
        """Note one delivered record (``digest`` from :func:`record_digest`)."""
        self._recent[record_id] = (modstamp, digest)
        if self._modstamp is None or modstamp > self._modstamp:
            self._modstamp = modstamp

    def cursor(self) -> ModstampCursor:
        """The cursor after every record added so far (records fallen out of the window dropped)."""
        if self._modstamp is not None:
            since = self._modstamp - self._lookback
            self._recent = {key: seen for key, seen in self._recent.items() if seen[0] >= since}
        return ModstampCursor(self._modstamp, dict(self._recent))


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
