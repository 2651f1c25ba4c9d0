"""A local emulator of HubSpot's CRM v3 API for the syncfw sandbox and tests.

:class:`HubSpotEmulator` is what ``syncfw sandbox serve`` starts; :class:`HubSpotPortal` is the
account behind it, with knobs for tests (injected 5xx and 429s, the daily limit, the 10-second
window, the search cap). It serves HTTPS with the sandbox's certificate authority; the connector
trusts it through ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import secrets

from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.sandbox.server import ServedApp
from syncfw_hubspot.emulator.app import create_app
from syncfw_hubspot.emulator.portal import (
    DAILY,
    SECONDLY,
    TEN_SECONDLY,
    ApiError,
    HubSpotPortal,
    LoggedRequest,
    PortalStats,
)

__all__ = [
    "DAILY",
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

    Attributes:
        portal: the running account (None until :meth:`start`), for tests to turn its knobs.
    """

    name = "hubspot"

    def __init__(self) -> None:
        self.portal: HubSpotPortal | None = None
        self._served: ServedApp | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Serve the portal on 127.0.0.1.

        Returns:
            ``{"HUBSPOT_ACCESS_TOKEN": "pat-na1-...", "HUBSPOT_HOST": "https://127.0.0.1:<port>"}``,
            what a recipe's ``access_token`` + ``host`` config needs.
        """
        token = new_access_token()
        self.portal = HubSpotPortal(context.data_dir, token)
        self._served = ServedApp(create_app(self.portal), tls=context.tls)
        return {"HUBSPOT_ACCESS_TOKEN": token, "HUBSPOT_HOST": self._served.url}

    def stop(self) -> None:
        """Stop serving, without waiting for clients to close their connections."""
        if self._served is not None:
            self._served.stop()
            self._served = None
