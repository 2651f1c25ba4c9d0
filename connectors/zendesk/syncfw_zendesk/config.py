"""The ``config`` block of a Zendesk source in a recipe.

Exactly one way to authenticate, the two zenpy's ``Zenpy(...)`` offers that Zendesk still accepts
for the API (password access is being removed,
https://support.zendesk.com/hc/en-us/articles/7386291855386):

* ``email`` + ``api_token``: an API token from Admin Center > Apps and integrations > Zendesk API,
  sent as HTTP Basic ``{email}/token:{api_token}``;
* ``oauth_token``: an OAuth access token, sent as ``Authorization: Bearer``.

The incremental export API is allowed for admins only
(https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/),
so the credentials must belong to an admin.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncfw import HeaderSecret

AuthMode = Literal["api_token", "oauth"]

_SUBDOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class ZendeskConfig(BaseModel):
    """Connection settings of one Zendesk Support account.

    Attributes:
        subdomain: the account's subdomain, ``acme`` for ``https://acme.zendesk.com``.
        email: the admin's email address (API token mode).
        api_token: the API token (API token mode).
        oauth_token: an OAuth access token with ``read`` scope (OAuth mode).
        start_time: where the first export starts, in Unix epoch seconds (0: everything).
            Later reads resume from the saved cursor and ignore it.
        page_size: items per export page (``per_page``), 1-1000; Zendesk's default is 1000.
        max_rate_limit_wait: the longest ``Retry-After`` the connector waits out, in seconds.
            A 429 asking for longer (or the 6th 429 in a row for one request) raises
            :class:`~syncfw.errors.SourceLimitExceeded` at once. Waits up to this long (a 429's,
            or a spent window's until it resets) hold back every process reading the account
            (:mod:`syncfw_zendesk.pacing`).
        timeout_seconds: timeout of each HTTP request, in seconds.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    subdomain: str
    email: str | None = None
    api_token: HeaderSecret | None = None
    oauth_token: HeaderSecret | None = None
    start_time: int = Field(default=0, ge=0)
    page_size: int = Field(default=1000, ge=1, le=1000)
    max_rate_limit_wait: float = Field(default=120.0, ge=0, le=3600, allow_inf_nan=False)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)

    @field_validator("subdomain")
    @classmethod
    def _check_subdomain(cls, value: str) -> str:
        if value.lower().endswith(".zendesk.com") or "://" in value:
            prefix = value.split("://")[-1].split(".")[0]
            raise ValueError(f"give the subdomain only (use {prefix!r} for https://{prefix}.zendesk.com)")
        if not _SUBDOMAIN.fullmatch(value):
            raise ValueError("expected the subdomain of https://<subdomain>.zendesk.com, such as 'acme'")
        return value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and value.endswith("/token"):
            raise ValueError("give the email without '/token' (the connector adds it)")
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("expected an email address such as 'admin@acme.com'")
        return value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> ZendeskConfig:
        token_mode = self.email is not None or self.api_token is not None
        if token_mode and self.oauth_token is not None:
            raise ValueError(
                "credentials for more than one way to authenticate (email + api_token and oauth_token): keep one"
            )
        if not token_mode and self.oauth_token is None:
            raise ValueError("no credentials given: choose email + api_token, or oauth_token")
        if token_mode and (self.email is None or self.api_token is None):
            missing = "api_token" if self.api_token is None else "email"
            raise ValueError(f"email + api_token also needs: {missing}")
        return self

    @property
    def auth_mode(self) -> AuthMode:
        """Which way to authenticate the fields select."""
        return "oauth" if self.oauth_token is not None else "api_token"
