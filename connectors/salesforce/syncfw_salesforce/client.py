"""simple-salesforce's client as the connector uses it: a session with a timeout that keeps the
``Sforce-Limit-Info`` header, the login of each ``auth_mode``, and the retryable steps of a
Bulk API 2.0 query.

:mod:`syncfw_salesforce.connector` imports this module at its first API call: simple-salesforce
loads requests, zeep and cryptography (a tenth of a second or more), which loading a recipe
(``syncfw validate``, ``syncfw plugins``) does not need.
"""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.bulk2 import SFBulk2Handler, _Bulk2Client

from syncfw import ConfigError
from syncfw_salesforce.config import SalesforceConfig
from syncfw_salesforce.usage import ApiUsage


class ApiSession(requests.Session):
    """A requests session with a default timeout, keeping the last ``Sforce-Limit-Info`` header.

    simple-salesforce sets no timeout, and parses the header from successful answers only; the
    header of a ``REQUEST_LIMIT_EXCEEDED`` refusal is the one worth reporting.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout
        self.limit_info: str | None = None

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        response = super().request(*args, **kwargs)
        self.limit_info = response.headers.get("Sforce-Limit-Info", self.limit_info)
        return response


def header_usage(sf: Salesforce) -> ApiUsage | None:
    """The daily API usage in the ``Sforce-Limit-Info`` header of the last answer ``sf`` received
    (parsed by simple-salesforce), if it carried one."""
    session = sf.session
    if isinstance(session, ApiSession) and session.limit_info:
        return ApiUsage.from_header_usage(Salesforce.parse_api_usage(session.limit_info))
    return None


def query_more(sf: Salesforce, *, url: str, headers: dict[str, str]) -> Any:
    return sf.query_more(url, identifier_is_url=True, headers=headers)


def bulk_client(sf: Salesforce, sobject: str) -> _Bulk2Client:
    """simple-salesforce's Bulk API 2.0 client, whose steps (create the job, wait for it, get one
    set of results by locator) can each be retried; its public ``query_all`` generator cannot
    resume a set of results after a transient failure."""
    handler = SFBulk2Handler(str(sf.session_id), sf.bulk2_url, session=sf.session)
    return _Bulk2Client(sobject, handler.bulk2_url, handler.headers, handler.session)


def results(sf: Salesforce, *, stream: str, job_id: str, locator: str, size: int) -> Any:
    return bulk_client(sf, stream).get_query_results(job_id, locator, size)


def connect(cfg: SalesforceConfig) -> Salesforce:
    """A simple-salesforce client for ``cfg``'s ``auth_mode`` (a session id is used as it is;
    JWT and password logins happen here).

    Raises:
        ConfigError: the JWT ``private_key_file`` does not exist.
        simple_salesforce.exceptions.SalesforceAuthenticationFailed: the login was refused.
    """
    common: dict[str, Any] = {
        "version": cfg.api_version,
        "session": ApiSession(cfg.timeout_seconds),
        "object_pairs_hook": dict,
    }
    mode = cfg.auth_mode
    if mode == "session":
        assert cfg.session_id is not None
        return Salesforce(
            session_id=cfg.session_id.get_secret_value(), instance_url=cfg.instance_url, **common
        )
    if mode == "jwt":
        assert cfg.private_key_file is not None
        if not cfg.private_key_file.is_file():
            raise ConfigError(f"Salesforce private_key_file {str(cfg.private_key_file)!r} does not exist")
        login: dict[str, Any] = {
            "username": cfg.username,
            "consumer_key": cfg.consumer_key,
            "privatekey_file": str(cfg.private_key_file),
        }
    else:
        assert cfg.password is not None and cfg.security_token is not None
        login = {
            "username": cfg.username,
            "password": cfg.password.get_secret_value(),
            "security_token": cfg.security_token.get_secret_value(),
        }
    return Salesforce(domain=cfg.domain, **login, **common)
