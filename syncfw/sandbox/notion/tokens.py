"""Who may call the emulated API: the integration token, rotated integration tokens, and OAuth
connections whose access tokens expire and whose refresh tokens rotate.

What the real service does, and the emulator with it:

* An internal integration authenticates with its token, ``Authorization: Bearer <token>``; a
  wrong or revoked one answers 401 ``unauthorized`` "API token is invalid." (OBSERVED,
  API-FACTS §2). A rotated token (:meth:`Tokens.rotate`) replaces the old one at once: the old
  one is refused from then on (the emulator keeps no grace period, which is the strictest reading
  of Notion's "refresh or rotate" settings for internal connections).
* A public connection (OAuth 2.0) exchanges a refresh token at ``POST /v1/oauth/token`` with
  ``{"grant_type": "refresh_token", "refresh_token": …}`` and HTTP Basic authentication of its
  ``client_id:client_secret``; the answer holds a new ``access_token`` **and a new
  ``refresh_token``** ("Refreshes an access token, generating a new access token and new refresh
  token", developers.notion.com/reference/refresh-a-token), with ``token_type`` ``bearer``,
  ``bot_id``, ``workspace_id``, ``workspace_name``, ``workspace_icon``, ``owner`` and
  ``duplicated_template_id``. The emulator rotates strictly: a refresh token works once, and the
  access token it replaces stops working.
* Errors of the OAuth endpoints have their own body, ``{"error": …, "error_description": …}``:
  a refresh token that is unknown, used or revoked answers 400 ``invalid_grant`` ("Token has been
  expired or revoked."); a wrong or missing client answers 401 ``invalid_client`` (OBSERVED,
  API-FACTS §2.3).
* Access tokens expire after :attr:`Tokens.lifetime` seconds on the emulator's clock when it is
  set (:meth:`~syncfw.sandbox.notion.NotionEmulator.connect_oauth`); the API documents no
  lifetime, so none is the default and an expired token answers 401 ``unauthorized`` like a
  revoked one.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from . import errors
from .workspace import Clock


class OAuthError(errors.NotionAPIError):
    """An error of ``/v1/oauth/*``, answered with the OAuth error body."""

    def body(self, request_id: str) -> dict[str, Any]:
        return {"error": self.code, "error_description": self.message, "request_id": request_id}


def invalid_grant() -> OAuthError:
    """400: a refresh token that is unknown, already used or revoked."""
    return OAuthError(400, "invalid_grant", "Token has been expired or revoked.")


def invalid_client() -> OAuthError:
    """401: the Basic credentials name no client, or the wrong secret."""
    return OAuthError(401, "invalid_client", "Client authentication failed.")


@dataclass
class _Connection:
    client_id: str
    client_secret: str
    refresh_token: str
    access_token: str


class Tokens:
    """The bearer tokens the API accepts, and the OAuth connections that issue them.

    Args:
        token: the integration token (and the one ``/_emulator/`` routes take, whatever rotates).
        clock: seconds since the epoch (the workspace's clock), for expiry.
        workspace: ``{"workspace_id", "workspace_name", "bot_id"}`` for token answers.
    """

    def __init__(self, token: str, clock: Clock, workspace: dict[str, str]) -> None:
        self.control = token
        self._integration = token
        self._clock = clock
        self._workspace = workspace
        self._connections: list[_Connection] = []
        self._expiry: dict[str, float | None] = {}
        self.lifetime: float | None = None
        self._countdown: int | None = None
        self._lock = threading.Lock()

    def rotate(self) -> str:
        """A new integration token, answered; the old one is refused from now on."""
        with self._lock:
            self._integration = "ntn_" + secrets.token_hex(20)
            return self._integration

    def connect(self, client_id: str, client_secret: str) -> tuple[str, str]:
        """Authorize a public connection of ``client_id`` (what a person's consent does):
        its first ``(access_token, refresh_token)``."""
        with self._lock:
            connection = _Connection(client_id, client_secret, "", "")
            self._connections.append(connection)
            self._issue(connection)
            return connection.access_token, connection.refresh_token

    def expire_all(self, after: int = 0) -> None:
        """Every OAuth access token issued so far expires (as if its lifetime had passed): now,
        or once ``after`` more API requests have been let through."""
        with self._lock:
            if after:
                self._countdown = after
                return
            self._expire()

    def _expire(self) -> None:
        for token in self._expiry:
            self._expiry[token] = self._clock() - 1

    def check(self, header: str) -> None:
        """Accept ``Authorization: Bearer <token>`` of the integration or a live access token.

        Raises:
            NotionAPIError: 401 ``unauthorized`` (malformed header, or a token not accepted).
        """
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme != "Bearer" or not token:
            raise errors.unauthorized(malformed_header=True)
        with self._lock:
            if self._countdown is not None:
                self._countdown -= 1
                if self._countdown < 0:
                    self._countdown = None
                    self._expire()
            if token == self._integration:
                return
            if token in self._expiry:
                expiry = self._expiry[token]
                if expiry is None or self._clock() < expiry:
                    return
        raise errors.unauthorized(malformed_header=False)

    def exchange(self, header: str, body: Any) -> dict[str, Any]:
        """``POST /v1/oauth/token`` with ``grant_type`` ``refresh_token``: the token answer.

        Raises:
            OAuthError: 401 ``invalid_client``, 400 ``invalid_grant``.
            NotionAPIError: 400 ``validation_error`` for a body without ``grant_type`` or
                ``refresh_token``, or another grant type.
        """
        client_id, client_secret = _basic(header)
        if not isinstance(body, dict) or body.get("grant_type") != "refresh_token":
            raise errors.validation(
                'body failed validation: body.grant_type should be "refresh_token", instead was '
                f"{errors.shown(body.get('grant_type', errors.UNDEFINED) if isinstance(body, dict) else body)}."
            )
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            raise errors.validation(
                "body failed validation: body.refresh_token should be a string, instead was "
                f"{errors.shown(refresh if refresh is not None else errors.UNDEFINED)}."
            )
        with self._lock:
            clients = [c for c in self._connections if c.client_id == client_id]
            if not clients or not secrets.compare_digest(clients[0].client_secret, client_secret):
                raise invalid_client()
            connection = next((c for c in clients if c.refresh_token == refresh), None)
            if connection is None:
                raise invalid_grant()
            self._expiry.pop(connection.access_token, None)
            self._issue(connection)
            return {
                "access_token": connection.access_token,
                "token_type": "bearer",
                "refresh_token": connection.refresh_token,
                "bot_id": self._workspace["bot_id"],
                "workspace_name": self._workspace["workspace_name"],
                "workspace_icon": None,
                "workspace_id": self._workspace["workspace_id"],
                "owner": {"type": "workspace", "workspace": True},
                "duplicated_template_id": None,
            }

    def _issue(self, connection: _Connection) -> None:
        connection.access_token = "ntn_" + secrets.token_hex(20)
        connection.refresh_token = "nrt_" + secrets.token_hex(20)
        self._expiry[connection.access_token] = (
            None if self.lifetime is None else self._clock() + self.lifetime
        )


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme != "Basic":
        raise invalid_client()
    try:
        client_id, colon, client_secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client() from None
    if not colon:
        raise invalid_client()
    return client_id, client_secret
