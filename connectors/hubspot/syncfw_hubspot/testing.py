"""The acceptance-kit harness of the HubSpot connector (see :mod:`syncfw.testing`).

::

    from syncfw.testing import connector_tests
    from syncfw_hubspot.testing import HubSpotHarness

    TestHubSpotKit = connector_tests(HubSpotHarness)
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any, ClassVar

from syncfw.connector import Connector
from syncfw.testing import EmulatorHarness
from syncfw_hubspot.connector import HubSpotConnector
from syncfw_hubspot.datetimes import parse_instant
from syncfw_hubspot.emulator import TEN_SECONDLY, HubSpotEmulator, HubSpotPortal
from syncfw_hubspot.incremental import modified_property

#: the 10-second window is shortened so that a 429 is waited out in a fraction of a second
_SHORT_WINDOW_MS = 200
_PAGE_SIZE = 5

_FIELDS: dict[str, list[str]] = {
    "companies": ["properties.name", "properties.domain", "properties.lifecyclestage"],
    "contacts": [
        "properties.email",
        "properties.firstname",
        "properties.lastname",
        "associations.companies.results",
    ],
    "deals": [
        "properties.dealname",
        "properties.amount",
        "properties.dealstage",
        "associations.companies.results",
    ],
}


class HubSpotHarness(EmulatorHarness[HubSpotEmulator]):
    """Runs the HubSpot emulator on a copy of the seed data it ships, over HTTPS.

    The connector reaches it through hubspot-api-client with ``host`` set to the emulator's URL
    and the sandbox CA in ``REQUESTS_CA_BUNDLE`` (restored by :meth:`stop`). Its config reads
    pages of 5 records, so that reads of the seed data checkpoint between pages. The emulator's
    limit of 5 searches a second is off, so that the kit's back-to-back reads are not slowed by
    it (the connector's own tests cover that limit); its 10-second window is 200 ms, so the
    429s of :meth:`rate_limit_next` ask for a 0.2 s wait. Its search index lag stays on: after
    each change the harness moves the emulator's clock past the lag, as if the kit had waited
    for search to catch up.
    """

    connector_class: ClassVar[type[Connector]] = HubSpotConnector
    streams: ClassVar[tuple[str, ...]] = ("companies", "contacts", "deals")
    rate_limit_retry_after: ClassVar[float] = _SHORT_WINDOW_MS / 1000

    def __init__(self) -> None:
        super().__init__(HubSpotEmulator)
        self._changes = itertools.count(1)

    @property
    def portal(self) -> HubSpotPortal:
        """The running emulator's account."""
        if self.emulator.portal is None:
            raise RuntimeError("the harness is not started")
        return self.emulator.portal

    def started(self) -> None:
        """Shorten the 10-second window and lift the search limit (see the class docstring)."""
        self.portal.window_ms = _SHORT_WINDOW_MS
        self.portal.search_per_second = None

    def config(self, *, valid_credentials: bool = True) -> dict[str, Any]:
        """``{"access_token": ..., "host": "https://127.0.0.1:<port>", "page_size": 5}``; a
        made-up token when ``valid_credentials`` is False."""
        token = self.env["HUBSPOT_ACCESS_TOKEN"]
        if not valid_credentials:
            token = "pat-na1-00000000-0000-0000-0000-000000000000"
        return {"access_token": token, "host": self.env["HUBSPOT_HOST"], "page_size": _PAGE_SIZE}

    def fields(self, stream: str) -> list[str]:
        """Properties (and, for contacts and deals, associated companies) a mapping would read."""
        return list(_FIELDS[stream])

    def add_record(self, stream: str) -> str:
        """Create a record modified after every existing one."""
        return self._indexed(self.portal.create(stream, self._sample(stream)))

    def add_late_record(self, stream: str) -> str:
        """Create a record stamped one second before the newest one, which search shows only now:
        a write HubSpot's search index took longer to show than later ones."""
        prop = modified_property(stream)
        newest = max(parse_instant(r["properties"][prop]) for r in self.portal.records(stream))
        at = datetime.fromtimestamp((newest - 1000) / 1000, tz=UTC)
        return self._indexed(self.portal.create(stream, self._sample(stream), at=at))

    def _sample(self, stream: str) -> dict[str, str | None]:
        n = next(self._changes)
        samples: dict[str, dict[str, str | None]] = {
            "companies": {
                "name": f"Kit Company {n}",
                "domain": f"kit{n}.example.com",
                "lifecyclestage": "lead",
            },
            "contacts": {"email": f"kit{n}@example.com", "firstname": "Kit", "lastname": f"Contact {n}"},
            "deals": {
                "dealname": f"Kit Deal {n}",
                "amount": str(1000 * n),
                "dealstage": "appointmentscheduled",
            },
        }
        return samples[stream]

    def change_record(self, stream: str) -> str:
        """Change the first live record's first mapped property; its last-modified date moves."""
        record = self._live(stream)[0]
        prop = _FIELDS[stream][0].removeprefix("properties.")
        self.portal.update(
            stream, record["id"], {prop: f"{record['properties'].get(prop)} (changed {next(self._changes)})"}
        )
        return self._indexed(str(record["id"]))

    def delete_record(self, stream: str) -> str:
        """Archive the last live record, as HubSpot does on delete."""
        record = self._live(stream)[-1]
        self.portal.archive(stream, record["id"])
        return self._indexed(str(record["id"]))

    def hard_delete_record(self, stream: str) -> str:
        """Delete the last live record permanently (a GDPR delete): it is never listed as archived."""
        record = self._live(stream)[-1]
        self.portal.delete_permanently(stream, record["id"])
        return str(record["id"])

    def rate_limit_next(self, requests: int) -> None:
        """Answer the next requests with 429 ``TEN_SECONDLY_ROLLING``, whose
        ``X-HubSpot-RateLimit-Interval-Milliseconds`` is 200."""
        self.portal.rate_limit_next(requests, TEN_SECONDLY)

    def _indexed(self, key: str) -> str:
        """Move the emulator's clock past the search index lag; return ``key``."""
        self.portal.advance(self.portal.search_lag)
        return key

    def _live(self, stream: str) -> list[dict[str, Any]]:
        live = [r for r in self.portal.records(stream) if not r["archived"]]
        if not live:
            raise RuntimeError(f"the HubSpot emulator has no live {stream} left")
        return live
