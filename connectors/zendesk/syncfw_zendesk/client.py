"""Zendesk API calls through zenpy, with bounded rate-limit waits and retries of transient failures.

zenpy 2.0.57 provides the authenticated session (HTTP Basic ``{email}/token:{api_token}`` or
``Bearer``), builds URLs as ``https://{subdomain}.zendesk.com/api/v2/...`` (or with the host and
scheme of the ``ZENPY_FORCE_NETLOC`` / ``ZENPY_FORCE_SCHEME`` environment variables, read at each
request: that is how the sandbox points it at its emulator), and raises its exceptions for error
answers. Pages are read as raw JSON through ``BaseApi._get(url, raw_response=True)``, the call
zenpy's own result generators make for later pages, rather than through ``incremental()``:

* records keep the API's JSON shape, every key included, instead of becoming zenpy objects;
* each page is visible on its own, so a checkpoint can follow it with that page's cursor;
* zenpy's cursor endpoint drops ``per_page`` when resuming from a cursor and does not URL-encode
  the cursor; here requests encodes every parameter.

Every request is paced in the account's limits, shared with every other process reading the
account (:class:`~syncfw_zendesk.pacing.AccountLimits`), before it is sent.

zenpy waits out a 429's ``Retry-After`` in a loop without any bound unless ``ratelimit_budget``
is set. This client's session raises :class:`~syncfw_zendesk.errors.RateLimited` on every 429
before zenpy sees the answer, so that loop never runs, and :meth:`ZendeskClient.get_json` decides:
wait up to ``max_rate_limit_wait`` seconds (every process of the account waits too), at most
:attr:`ZendeskClient.rate_limit_attempts` times in a row, else raise
:class:`~syncfw.errors.SourceLimitExceeded`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from tenacity.wait import wait_base
from zenpy import Zenpy  # type: ignore[import-untyped]
from zenpy.lib.endpoint import Url  # type: ignore[import-untyped]
from zenpy.lib.exception import APIException, ZenpyException  # type: ignore[import-untyped]

from syncfw import SourceError
from syncfw.connector import RETRY_ATTEMPTS, RETRY_WAIT, retrying
from syncfw_zendesk.config import ZendeskConfig
from syncfw_zendesk.errors import RateLimited, is_transient, limit_exceeded, translate
from syncfw_zendesk.pacing import AccountLimits
from syncfw_zendesk.ratelimits import RateLimits

log = logging.getLogger(__name__)


class _ExportSession(requests.Session):
    """A requests session with a default timeout that paces every request in the account's
    limits, raises :class:`RateLimited` on 429 answers and keeps the rate limit headers last seen
    on each path."""

    def __init__(self, timeout: float, limits: AccountLimits) -> None:
        super().__init__()
        self._timeout = timeout
        self.limits = limits
        self.seen: dict[str, RateLimits] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        path = urlsplit(url if isinstance(url, str) else url.decode()).path
        self.limits.acquire(path)
        sent = time.monotonic()
        response = super().request(method, url, *args, **kwargs)
        limits = RateLimits.from_headers(response.headers)
        if limits.buckets:
            self.seen[path] = limits
            if response.status_code == 429:
                self.limits.observe(limits)
            else:
                self.limits.observe(limits, sent, time.monotonic())
        if response.status_code == 429:
            raise RateLimited(response)
        return response


class ZendeskClient:
    """GET requests to one Zendesk account's API, answering parsed JSON objects.

    Transient failures (connection errors, timeouts, HTTP 5xx) are retried :attr:`retry_attempts`
    times in all with exponential backoff, then raised as :class:`~syncfw.errors.SourceUnavailable`.
    """

    retry_attempts: ClassVar[int] = RETRY_ATTEMPTS
    retry_wait: ClassVar[wait_base] = RETRY_WAIT
    rate_limit_attempts: ClassVar[int] = 6

    def __init__(self, config: ZendeskConfig) -> None:
        self.config = config
        if config.oauth_token is not None:
            credentials: dict[str, str | None] = {"oauth_token": config.oauth_token.get_secret_value()}
        else:
            assert config.api_token is not None
            credentials = {"email": config.email, "token": config.api_token.get_secret_value()}
        # the account is the API host requests go to: {subdomain}.zendesk.com, or the host zenpy is
        # pointed at (a sandbox's emulator is an account of its own)
        host = os.environ.get("ZENPY_FORCE_NETLOC") or f"{config.subdomain}.zendesk.com"
        limits = AccountLimits(host, config.max_rate_limit_wait)
        self._session = _ExportSession(config.timeout_seconds, limits)
        self._zenpy = Zenpy(
            subdomain=config.subdomain,
            session=self._session,
            timeout=config.timeout_seconds,
            disable_cache=True,
            # never reached (the session raises on 429 first); bounds zenpy's loop should that change
            ratelimit_budget=max(int(config.max_rate_limit_wait), 1),
            **credentials,
        )

    @property
    def rate_limits(self) -> dict[str, RateLimits]:
        """The rate limit headers last seen, by URL path (``/api/v2/incremental/tickets/cursor.json``)."""
        return dict(self._session.seen)

    def get_json(self, path: str, params: Mapping[str, str | int], *, what: str) -> dict[str, Any]:
        """GET ``/api/v2/<path>`` with query ``params``; the answer's JSON object.

        Before sending, waits until the request fits in the account's limits, which every process
        reading the account shares (:class:`~syncfw_zendesk.pacing.AccountLimits`).

        Raises:
            syncfw.errors.SourceLimitExceeded: 429 answers that cannot be waited out.
            syncfw.errors.SourceAuthError: 401 or 403.
            syncfw.errors.SourceUnavailable: transient failures after retries.
            syncfw.errors.SourceError: any other failure.
        """
        attempt = 1
        while True:
            try:
                return self._get_with_retries(path, params, what)
            except RateLimited as limited:
                wait = limited.wait()
                max_wait = self.config.max_rate_limit_wait
                if wait is None or wait > max_wait or attempt >= self.rate_limit_attempts:
                    raise limit_exceeded(limited, what=what, max_wait=max_wait, attempts=attempt) from None
                log.warning(
                    "Zendesk rate-limited the %s (%s): every process of the account waits %g s (Retry-After)",
                    what,
                    limited.limit(),
                    wait,
                )
                self._session.limits.pause(limited, wait)
                attempt += 1

    def close(self) -> None:
        """Close the HTTP session."""
        self._session.close()

    def _get_with_retries(self, path: str, params: Mapping[str, str | int], what: str) -> dict[str, Any]:
        attempts = retrying(
            "Zendesk", what, retry=is_transient, log=log, stop=self.retry_attempts, wait=self.retry_wait
        )
        try:
            body = attempts(self._get, path, params)
        except (APIException, ZenpyException, requests.RequestException) as exc:
            tries = attempts.statistics.get("attempt_number", 1)
            raise translate(exc, what=what, subdomain=self.config.subdomain, attempts=tries) from None
        except ValueError:
            raise SourceError(f"Zendesk answered the {what} with a body that is not JSON") from None
        if not isinstance(body, dict):
            raise SourceError(f"Zendesk answered the {what} with JSON that is not an object")
        return body

    def _get(self, path: str, params: Mapping[str, str | int]) -> Any:
        api = self._zenpy.users
        url = api._build_url(Url(path))
        return api._get(url, raw_response=True, params=dict(params)).json()
