"""The ``config`` block of a Salesforce source in a recipe.

Exactly one way to authenticate, as simple-salesforce's ``Salesforce(...)`` accepts them:

* ``username`` + ``password`` + ``security_token`` (+ ``domain``): SOAP login;
* ``session_id`` + ``instance_url``: an existing session, e.g. from ``sf org display`` or an
  OAuth flow run elsewhere (it cannot be renewed: when it expires a new one is needed);
* ``username`` + ``consumer_key`` + ``private_key_file`` (+ ``domain``): OAuth 2.0 JWT bearer flow
  of a connected app (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm).

``domain`` is ``login`` for production orgs, ``test`` for sandboxes, or a My Domain prefix such
as ``acme.my`` (simple-salesforce builds ``https://{domain}.salesforce.com``).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncfw import Duration, HeaderSecret
from syncfw_salesforce.incremental import DEFAULT_LOOKBACK

AuthMode = Literal["password", "session", "jwt"]

_MODE_FIELDS: dict[AuthMode, tuple[str, ...]] = {
    "password": ("username", "password", "security_token"),
    "session": ("session_id", "instance_url"),
    "jwt": ("username", "consumer_key", "private_key_file"),
}
# the fields that tell the modes apart (username belongs to two of them)
_MODE_MARKERS: dict[AuthMode, tuple[str, ...]] = {
    "password": ("password", "security_token"),
    "session": ("session_id", "instance_url"),
    "jwt": ("consumer_key", "private_key_file"),
}
_MODE_NAMES: dict[AuthMode, str] = {
    "password": "username + password + security_token",
    "session": "session_id + instance_url",
    "jwt": "username + consumer_key + private_key_file (JWT bearer)",
}
MAX_BATCH_SIZE = 2000
"""The largest query page Salesforce returns (``Sforce-Query-Options: batchSize`` is 200-2000)."""
DEFAULT_BULK_THRESHOLD = 10_000
"""Above this many records a first read goes through Bulk API 2.0: query jobs are "designed to
handle queries that return large amounts of data (10,000 records or more)" (Bulk API 2.0
Developer Guide, "Bulk Queries"), and below it REST takes at most 5 pages of 2,000."""
DEFAULT_BULK_PAGE_SIZE = 50_000
"""Records per set of Bulk API 2.0 results (``maxRecords``), simple-salesforce's default."""
DEFAULT_BULK_POLL_SECONDS = 5.0
"""Seconds between polls of a query job's state, simple-salesforce's default ``wait``."""
_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class SalesforceConfig(BaseModel):
    """Connection settings of one Salesforce org.

    Attributes:
        username: the Salesforce username (password and JWT modes).
        password: the user's password (password mode).
        security_token: the user's security token; may be empty when the caller's IP is trusted.
        session_id: an access token / session id (session mode).
        instance_url: the org's base URL, ``https://acme.my.salesforce.com`` (session mode).
        consumer_key: the connected app's consumer key (JWT mode).
        private_key_file: path of the PEM private key whose certificate is on the connected app.
        domain: login domain: ``login``, ``test`` or a My Domain prefix (password and JWT modes).
        api_version: REST API version without the ``v``, e.g. ``59.0``.
        batch_size: records per query page, 200-2000, sent as ``Sforce-Query-Options: batchSize=N``
            (Salesforce treats it as a hint).
        timeout_seconds: timeout of each HTTP request, in seconds.
        lookback: how far before its cursor an incremental read looks again, a duration such as
            ``10m`` (default: 10 minutes, the longest a Salesforce transaction runs; see
            :mod:`syncfw_salesforce.incremental`). A row whose transaction commits later than
            this after its ``SystemModstamp`` is missed until it changes again; ``0s`` reads only
            from the cursor's own second.
        bulk_threshold: a first read (no cursor yet) of an sObject with more records than this
            (``SELECT COUNT()`` through ``queryAll``) goes through a Bulk API 2.0 ``queryAll``
            job instead of REST pages; None never uses Bulk API 2.0. Default 10,000.
        bulk_page_size: records per set of Bulk API 2.0 results (``maxRecords``), 1-1,000,000;
            default 50,000. A checkpoint follows each set.
        bulk_poll_seconds: seconds between polls of a running query job (each poll is one API
            request); default 5.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    session_id: HeaderSecret | None = None
    instance_url: str | None = None
    consumer_key: str | None = None
    private_key_file: Path | None = None
    domain: str = "login"
    api_version: str = Field(default="59.0", pattern=r"^\d{2,3}\.0$")
    batch_size: int = Field(default=MAX_BATCH_SIZE, ge=200, le=MAX_BATCH_SIZE)
    timeout_seconds: float = Field(default=120.0, gt=0, le=3600, allow_inf_nan=False)
    lookback: Duration = DEFAULT_LOOKBACK
    bulk_threshold: int | None = Field(default=DEFAULT_BULK_THRESHOLD, ge=0)
    bulk_page_size: int = Field(default=DEFAULT_BULK_PAGE_SIZE, ge=1, le=1_000_000)
    bulk_poll_seconds: float = Field(default=DEFAULT_BULK_POLL_SECONDS, ge=0, le=600, allow_inf_nan=False)

    @field_validator("lookback")
    @classmethod
    def _check_lookback(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("the look-back cannot be negative: give a duration such as 10m, or 0s")
        return value

    @field_validator("domain")
    @classmethod
    def _check_domain(cls, value: str) -> str:
        if value.endswith(".salesforce.com"):
            prefix = value.removesuffix(".salesforce.com")
            raise ValueError(f"give the domain without '.salesforce.com' (use {prefix!r})")
        if not _DOMAIN.fullmatch(value):
            raise ValueError("expected 'login', 'test' or a My Domain prefix such as 'acme.my'")
        return value

    @field_validator("instance_url")
    @classmethod
    def _check_instance_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme != "https" or not parsed.hostname:
            raise ValueError("expected an https URL such as 'https://acme.my.salesforce.com'")
        return value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> SalesforceConfig:
        present = {name for name in self.model_fields_set if getattr(self, name) is not None}
        modes = [mode for mode, markers in _MODE_MARKERS.items() if present.intersection(markers)]
        choices = "; ".join(_MODE_NAMES.values())
        if not modes:
            raise ValueError(f"no credentials given: choose one way to authenticate: {choices}")
        if len(modes) > 1:
            given = " and ".join(_MODE_NAMES[m] for m in modes)
            raise ValueError(f"credentials for more than one way to authenticate ({given}): keep one")
        mode = modes[0]
        missing = [name for name in _MODE_FIELDS[mode] if name not in present]
        if missing:
            raise ValueError(f"{_MODE_NAMES[mode]} also needs: {', '.join(missing)}")
        if mode == "session" and "username" in present:
            raise ValueError("username is not used with session_id + instance_url: remove it")
        return self

    @property
    def auth_mode(self) -> AuthMode:
        """Which way to authenticate the fields select."""
        if self.session_id is not None:
            return "session"
        if self.consumer_key is not None:
            return "jwt"
        return "password"
