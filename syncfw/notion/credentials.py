"""Where the Notion bearer token comes from, and how one Notion refuses (401) is renewed.

Three kinds, from the recipe's ``notion:`` block (:func:`credentials_for`):

* :class:`IntegrationToken` — ``token: ${env:…}``: nothing to renew; a 401 stops the run.
* :class:`TokenFile` — ``token: ${file:PATH}``: the file is read again on a 401, so a token
  rotated in a mounted secret (Kubernetes, Vault agent) is picked up by a running sync.
* :class:`OAuthConnection` — ``oauth: {client_id, client_secret, refresh_token}``: a public
  connection. Its access token is obtained and renewed at ``POST /v1/oauth/token`` with
  ``grant_type: refresh_token`` (HTTP Basic authentication of the client), which answers a new
  access token *and a new refresh token* (developers.notion.com/reference/refresh-a-token). Both
  are kept in the state store (setting ``notion oauth``), never in run history or output; the
  refresh token of the recipe is used again only when it changes (a new authorization).

A renewal answers a token newer than the refused one, or None when there is none; clients
sharing one :class:`Credentials` (the sync's and the health dashboard's) renew once between
them. Every token the credentials have held is in :meth:`Credentials.secrets`, hidden from every
message.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from notion_client.errors import HTTPResponseError
from pydantic import SecretStr

from syncfw.errors import ConfigError, NotionAuthError
from syncfw.recipe.model import NotionOAuth, NotionSettings
from syncfw.recipe.references import read_secret_file, unusable_character
from syncfw.state import StateBackend

OAUTH_SETTING = "notion oauth"
"""The state store setting holding an OAuth connection's tokens (JSON)."""

INTEGRATIONS_PAGE = "https://www.notion.so/profile/integrations"


class Credentials(ABC):
    """A source of Notion bearer tokens."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: list[str] = []

    @property
    @abstractmethod
    def budget_key(self) -> str:
        """What names this integration's rate budget: stable across renewals, never a secret."""

    def held(self) -> str | None:
        """The token to send, when it is at hand without a request (an OAuth connection's access
        token kept in the state store), else None."""
        with self._lock:
            return self._current()

    @abstractmethod
    def token(self, api: Any) -> str:
        """The token to send now; ``api`` is the notion-client ``Client`` a first OAuth exchange
        goes through.

        Raises:
            NotionAuthError: an OAuth connection could not obtain an access token.
        """

    def renew(self, refused: str, api: Any) -> str | None:
        """A token newer than ``refused``, which Notion answered 401, or None when there is none.
        Thread-safe: a token another client renewed meanwhile is answered without a new renewal.

        Raises:
            NotionAuthError: the renewal itself was refused (an OAuth ``invalid_grant``).
            ConfigError: a token file cannot be read or holds no usable token.
        """
        with self._lock:
            current = self._current()
            if current is not None and current != refused:
                return current
            renewed = self._renewed(refused, api)
            if renewed is not None:
                self._saw(renewed)
            return renewed

    def secrets(self) -> list[str]:
        """Every token these credentials have held (to hide from messages)."""
        return list(self._seen)

    @abstractmethod
    def refused(self) -> str:
        """What a user checks when Notion refuses the token and no renewal helps (a sentence)."""

    @abstractmethod
    def _current(self) -> str | None: ...

    @abstractmethod
    def _renewed(self, refused: str, api: Any) -> str | None: ...

    def _saw(self, token: str) -> None:
        if token not in self._seen:
            self._seen.append(token)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class IntegrationToken(Credentials):
    """An integration token written in the environment: never renewed."""

    def __init__(self, token: SecretStr) -> None:
        super().__init__()
        self._token = token.get_secret_value()
        self._saw(self._token)

    @property
    def budget_key(self) -> str:
        return _digest(self._token)  # as budget_key() of the settings

    def token(self, api: Any) -> str:
        return self._token

    def refused(self) -> str:
        return (
            f"the token is invalid or has been revoked. Create or copy the token at {INTEGRATIONS_PAGE} "
            "and set it where the recipe's notion.token points."
        )

    def _current(self) -> str | None:
        return self._token

    def _renewed(self, refused: str, api: Any) -> str | None:
        return None


class TokenFile(Credentials):
    """An integration token read from ``path``, read again when Notion refuses it."""

    def __init__(self, token: SecretStr, path: Path) -> None:
        super().__init__()
        self._token = token.get_secret_value()
        self._first = self._token
        self.path = path
        self._saw(self._token)

    @property
    def budget_key(self) -> str:
        return _digest(self._first)

    def token(self, api: Any) -> str:
        return self._token

    def refused(self) -> str:
        return (
            f"the token in {self.path} is invalid or has been revoked, and reading the file again gave "
            f"no other token. Put a valid token from {INTEGRATIONS_PAGE} in the file."
        )

    def _current(self) -> str | None:
        return self._token

    def _renewed(self, refused: str, api: Any) -> str | None:
        try:
            token = read_secret_file(self.path)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
            raise ConfigError(f"cannot read the Notion token again from {self.path}: {reason}") from None
        unusable = unusable_character(token, header=True)
        if unusable is not None:
            raise ConfigError(f"the Notion token in {self.path} cannot be sent to Notion: {unusable}")
        if token == refused:
            return None
        self._token = token
        return token


class OAuthConnection(Credentials):
    """A public connection's access token, refreshed through ``POST /v1/oauth/token``, its tokens
    kept in ``store`` (setting :data:`OAUTH_SETTING`: ``{"authorization", "access_token",
    "refresh_token"}``, ``authorization`` a digest of the recipe's refresh token)."""

    def __init__(self, oauth: NotionOAuth, store: StateBackend) -> None:
        super().__init__()
        self._oauth = oauth
        self._store = store
        self._authorization = _authorization(oauth)
        self._access: str | None = None
        self._saw(oauth.refresh_token.get_secret_value())
        self._saw(oauth.client_secret.get_secret_value())

    @property
    def budget_key(self) -> str:
        return _digest("oauth", self._authorization)

    def token(self, api: Any) -> str:
        with self._lock:
            if self._access is None:
                kept = self._kept()
                self._access = kept.get("access_token") or self._refresh(self._refresh_token(kept), api)
                self._saw(self._access)
            return self._access

    def refused(self) -> str:
        return (
            f"Notion refused the access token of OAuth client {self._oauth.client_id} just after "
            "refreshing it. Check that the connection is still authorized in the workspace (Settings → "
            "Connections) and that the pages are shared with it."
        )

    def _current(self) -> str | None:
        if self._access is None:
            self._access = self._kept().get("access_token") or None
        return self._access

    def _renewed(self, refused: str, api: Any) -> str | None:
        kept = self._kept()
        if kept.get("access_token") not in (None, refused):
            self._access = kept["access_token"]  # another process refreshed it
        else:
            self._access = self._refresh(self._refresh_token(kept), api)
        return self._access

    def _kept(self) -> dict[str, str]:
        text = self._store.setting(OAUTH_SETTING)
        kept: dict[str, str] = json.loads(text) if text else {}
        if kept.get("authorization") != self._authorization:
            return {}  # none yet, or kept for a refresh token the recipe no longer names
        for name in ("access_token", "refresh_token"):
            if kept.get(name):
                self._saw(kept[name])
        return kept

    def _refresh_token(self, kept: dict[str, str]) -> str:
        return kept.get("refresh_token") or self._oauth.refresh_token.get_secret_value()

    def _refresh(self, refresh_token: str, api: Any) -> str:
        try:
            answer = api.oauth.token(
                client_id=self._oauth.client_id,
                client_secret=self._oauth.client_secret.get_secret_value(),
                grant_type="refresh_token",
                refresh_token=refresh_token,
            )
        except HTTPResponseError as exc:
            raise NotionAuthError(
                f"Notion refused to refresh the access token of OAuth client {self._oauth.client_id} "
                f"(HTTP {exc.status}, {_oauth_error(exc.body)}): "
                + (
                    "check notion.oauth.client_id and client_secret."
                    if exc.status == 401
                    else "the refresh token was revoked, has expired or was already used. Authorize the "
                    "connection again and set the new refresh token where notion.oauth.refresh_token points."
                )
            ) from None
        access, refresh = str(answer["access_token"]), str(answer["refresh_token"])
        self._saw(access)
        self._saw(refresh)
        with self._store.transaction() as tx:
            tx.set_setting(
                OAUTH_SETTING,
                json.dumps(
                    {"authorization": self._authorization, "access_token": access, "refresh_token": refresh}
                ),
            )
        return access


def _oauth_error(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return "no OAuth error code"
    return str(data.get("error", "no OAuth error code")) if isinstance(data, dict) else "no OAuth error code"


def budget_key(settings: NotionSettings) -> str:
    """The name of the rate budget of the integration ``settings`` authenticates as (16 hex digits
    of SHA-256, never a secret): of the token, or of an OAuth connection's client and the refresh
    token of its authorization, so that it stays the same across renewals."""
    if settings.oauth is not None:
        return _digest("oauth", _authorization(settings.oauth))
    assert settings.token is not None
    return _digest(settings.token.get_secret_value())


def _authorization(oauth: NotionOAuth) -> str:
    return _digest(oauth.client_id, oauth.refresh_token.get_secret_value())


def credentials_for(settings: NotionSettings, store: StateBackend | None) -> Credentials:
    """The credentials the recipe's ``notion:`` block names.

    Raises:
        ConfigError: ``oauth`` without a state store to keep its tokens in.
    """
    if settings.oauth is not None:
        if store is None:
            raise ConfigError(
                "notion.oauth keeps its refreshed tokens in the state store, which is not open here"
            )
        return OAuthConnection(settings.oauth, store)
    assert settings.token is not None
    if settings.token_file is not None:
        return TokenFile(settings.token, settings.token_file)
    return IntegrationToken(settings.token)
