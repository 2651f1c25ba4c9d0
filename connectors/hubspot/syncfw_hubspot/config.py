"""The ``config`` block of a HubSpot source in a recipe.

Authentication is a private app's access token (``pat-na1-...``), sent as
``Authorization: Bearer <token>`` by hubspot-api-client (HubSpot, "Private apps",
https://developers.hubspot.com/docs/api/private-apps). OAuth access tokens work the same way but
are not refreshed by syncfw.

Rate limits of private apps (HubSpot, "API usage guidelines and limits",
https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details): 100 requests per
10 seconds on Free and Starter accounts, 190 on Professional and Enterprise (250 with the API
limit increase), shared by every private app of the account; the CRM search endpoints allow
5 requests per second per account.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from syncfw import Duration, HeaderSecret

DEFAULT_HOST = "https://api.hubapi.com"
_OBJECT_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_]*|\d+-\d+")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: HubSpot, CRM search guide, "Limits": "It may take a few moments for newly created or updated
#: CRM objects to appear in search results" (no bound given; integrators report several seconds).
#: Five minutes covers that many times over; its cost is re-searching the changes of the last
#: five minutes before the newest one, which are not delivered again.
DEFAULT_LOOKBACK = timedelta(minutes=5)


def check_object_type(name: str) -> str:
    """Return ``name`` if it can be a CRM object type (``contacts``, ``line_items``, ``2-123456``).

    Raises:
        ValueError: it cannot, so it must not be put into a request path.
    """
    if not _OBJECT_TYPE.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a HubSpot object type (expected e.g. 'contacts', 'deals' or a custom "
            "object's id such as '2-123456')"
        )
    return name


class HubSpotConfig(BaseModel):
    """Connection settings of one HubSpot account.

    Attributes:
        access_token: the private app's access token.
        host: the API's base URL; the sandbox gives its emulator's URL. Plain ``http`` only for
            127.0.0.1 and localhost.
        associations: per stream, the object types whose associated record ids to read with
            each record, e.g. ``{"contacts": ["companies"], "deals": ["companies", "contacts"]}``.
            Types named in the mappings' field paths (``associations.companies.results``) are read
            too, so this is only needed for extra ones.
        deletes: read archived records (``archived=true`` list) and yield them as deletes. A full
            read lists them all; an incremental read walks at most ``archived_pages_per_read``
            pages of the list, resuming where the last read stopped (see
            :class:`~syncfw_hubspot.incremental.ArchivedSweep`).
        archived_pages_per_read: pages of 100 archived records an incremental read walks (default
            10): its cost no longer grows with the archive; a delete is reported within
            ``ceil(archived records / (100 * this))`` reads. Reconciliation (``scan_keys``)
            catches what a sweep cannot, such as a record purged after 90 days before it was seen.
        lookback: how far before the newest change already read each incremental search starts
            again (e.g. ``5m``, the default), so that changes search shows late are delivered.
        page_size: records per search page, 1-200 (the search API's maximum); list requests use
            at most 100.
        requests_per_10_seconds: the account's 10-second limit (2-1000) this connector paces
            itself to, together with every other process and machine reading the account with
            the same token (see :class:`~syncfw_hubspot.ratelimit.AccountWindow`): 100 (Free,
            Starter) or 190 (Professional, Enterprise). A lower ``X-HubSpot-RateLimit-Max`` from
            HubSpot wins.
        search_requests_per_second: average pace of search requests, shared like the 10-second
            window, with one more after a pause; HubSpot allows 5 per second per account, so the
            default (4, at most 5 in any second) keeps within it.
        timeout_seconds: timeout of each HTTP request, in seconds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: HeaderSecret
    host: str = DEFAULT_HOST
    associations: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    deletes: bool = True
    archived_pages_per_read: int = Field(default=10, ge=1)
    lookback: Duration = DEFAULT_LOOKBACK
    page_size: int = Field(default=200, ge=1, le=200)
    requests_per_10_seconds: int = Field(default=100, ge=2, le=1000)
    search_requests_per_second: float = Field(default=4.0, gt=0, le=1000, allow_inf_nan=False)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)

    @field_validator("access_token")
    @classmethod
    def _check_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("the access token is empty: give the private app's access token")
        return value

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise ValueError(f"expected a URL such as {DEFAULT_HOST!r}")
        if parsed.scheme == "http" and parsed.hostname not in _LOOPBACK:
            raise ValueError("plain http is only allowed for a local emulator on 127.0.0.1: use https")
        if parsed.path.strip("/") or parsed.query:
            raise ValueError(f"give the host only, without a path (e.g. {DEFAULT_HOST!r})")
        return value.rstrip("/")

    @field_validator("lookback")
    @classmethod
    def _check_lookback(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the look-back cannot be negative: give a duration such as 5m")
        return value

    @field_validator("associations")
    @classmethod
    def _check_associations(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for stream, types in value.items():
            check_object_type(stream)
            for name in types:
                check_object_type(name)
        return value
