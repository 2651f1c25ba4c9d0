"""A local emulator of HubSpot's CRM v3 API for the syncfw sandbox and tests.

:class:`HubSpotEmulator` is what ``syncfw sandbox serve`` starts; :class:`HubSpotPortal` is the
account behind it, with knobs for tests (injected 5xx and 429s, the daily limit, the 10-second
window, the search cap, the search index lag, the 90-day archive window and the clock). It serves HTTPS with the sandbox's certificate authority; the connector
trusts it through ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from syncfw import ConfigError
from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.emulation import ServedApp
from syncfw_hubspot.emulator.app import create_app
from syncfw_hubspot.emulator.index import SEARCH_LAG_SECONDS
from syncfw_hubspot.emulator.portal import (
    ARCHIVE_RETENTION,
    DAILY,
    SECONDLY,
    TEN_SECONDLY,
    ApiError,
    HubSpotPortal,
    LoggedRequest,
    PortalStats,
)

__all__ = [
    "ARCHIVE_RETENTION",
    "DAILY",
    "SEARCH_LAG_SECONDS",
    "SECONDLY",
    "TEN_SECONDLY",
    "ApiError",
    "HubSpotEmulator",
    "HubSpotPortal",
    "LoggedRequest",
    "PortalStats",
    "create_app",
    "new_access_token",
]


def new_access_token() -> str:
    """A random token shaped like a private app's (``pat-na1-<uuid>``)."""
    hex_digits = secrets.token_hex(16)
    parts = (hex_digits[:8], hex_digits[8:12], hex_digits[12:16], hex_digits[16:20], hex_digits[20:])
    return "pat-na1-" + "-".join(parts)


class HubSpotEmulator(SourceEmulator):
    """The sandbox's HubSpot: seed files from ``context.data_dir``, served over HTTPS.

    Sandbox options: ``hubspot_search_lag=SECONDS`` the longest delay before search sees a write
    (default 10; 0 for none), ``hubspot_archive_retention=DAYS`` how long archived records stay
    listed (default 90).

    Attributes:
        portal: the running account (None until :meth:`start`), for tests to turn its knobs.
    """

    name = "hubspot"
    seed_data = Path(__file__).parents[1] / "seed"

    def __init__(self) -> None:
        self.portal: HubSpotPortal | None = None
        self._served: ServedApp | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Serve the portal on 127.0.0.1.

        Returns:
            ``{"HUBSPOT_ACCESS_TOKEN": "pat-na1-...", "HUBSPOT_HOST": "https://127.0.0.1:<port>"}``,
            what a recipe's ``access_token`` + ``host`` config needs.

        Raises:
            syncfw.errors.ConfigError: an option is not a number (a positive one for the retention).
        """
        token = new_access_token()
        lag = _number_option(context, "hubspot_search_lag", SEARCH_LAG_SECONDS)
        days = _number_option(context, "hubspot_archive_retention", ARCHIVE_RETENTION.days)
        if lag < 0 or days <= 0:
            raise ConfigError(
                "sandbox options hubspot_search_lag and hubspot_archive_retention: expected seconds "
                "(0 or more) and days (more than 0)"
            )
        self.portal = HubSpotPortal(
            context.data_dir, token, search_lag=lag, archive_retention=timedelta(days=days)
        )
        self._served = ServedApp(create_app(self.portal), tls=context.tls)
        return {"HUBSPOT_ACCESS_TOKEN": token, "HUBSPOT_HOST": self._served.url}

    def stop(self) -> None:
        """Stop serving, without waiting for clients to close their connections."""
        if self._served is not None:
            self._served.stop()
            self._served = None


def _number_option(context: EmulatorContext, name: str, default: float) -> float:
    value = context.options.get(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"sandbox option {name}={value!r}: expected a number") from None
