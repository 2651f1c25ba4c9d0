"""A local emulator of the Zendesk Support API for the syncfw sandbox and tests.

:class:`ZendeskEmulator` is what ``syncfw sandbox serve`` starts; :class:`ZendeskAccount` is the
account behind it, with knobs for tests (per-minute limits, injected faults and 429s, counters).
zenpy builds ``https://{subdomain}.zendesk.com`` URLs; its ``ZENPY_FORCE_NETLOC`` and
``ZENPY_FORCE_SCHEME`` environment variables (read at every request) send them to the emulator
instead, which serves HTTPS with the sandbox's certificate authority; clients trust it through
``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from syncfw import ConfigError
from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.emulation import ServedApp
from syncfw_zendesk.emulator.account import (
    AccountStats,
    ApiError,
    ZendeskAccount,
    decode_cursor,
    encode_cursor,
)
from syncfw_zendesk.emulator.app import create_app

__all__ = [
    "SANDBOX_EMAIL",
    "SANDBOX_SUBDOMAIN",
    "AccountStats",
    "ApiError",
    "ZendeskAccount",
    "ZendeskEmulator",
    "create_app",
    "decode_cursor",
    "encode_cursor",
]

SANDBOX_SUBDOMAIN = "syncfw-sandbox"
SANDBOX_EMAIL = "avery.admin@syncfw-sandbox.example"

_LIMIT_OPTIONS = ("zendesk_rate_limit", "zendesk_export_limit")


class ZendeskEmulator(SourceEmulator):
    """The sandbox's Zendesk: seed files from ``context.data_dir``, served over HTTPS.

    Sandbox options: ``zendesk_rate_limit=N`` sets the plan's requests per minute (default 400),
    ``zendesk_export_limit=N`` the incremental export requests per minute (default 10 time-based;
    the cursor-based exports get twice as many, as recorded).

    Attributes:
        account: the running account (None until :meth:`start`), for tests to turn its knobs.
    """

    name = "zendesk"
    seed_data = Path(__file__).parents[1] / "seed"

    def __init__(self) -> None:
        self.account: ZendeskAccount | None = None
        self._served: ServedApp | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Serve the account on 127.0.0.1.

        Returns:
            ``ZENDESK_SUBDOMAIN``, ``ZENDESK_EMAIL``, ``ZENDESK_API_TOKEN``, ``ZENDESK_OAUTH_TOKEN``
            (what a recipe's config needs) and ``ZENPY_FORCE_NETLOC`` (``127.0.0.1:<port>``),
            ``ZENPY_FORCE_SCHEME`` (``https``), which point zenpy at the emulator.

        Raises:
            syncfw.errors.ConfigError: a limit option is not a positive whole number.
        """
        limits: dict[str, int] = {}
        for option in _LIMIT_OPTIONS:
            value = context.options.get(option)
            if value is None:
                continue
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"sandbox option {option}={value!r}: expected a positive whole number")
            limits[option] = int(value)
        export_limit = limits.get("zendesk_export_limit", 10)
        self.account = ZendeskAccount(
            context.data_dir,
            email=SANDBOX_EMAIL,
            limit=limits.get("zendesk_rate_limit", 400),
            export_limit=export_limit,
            cursor_export_limit=2 * export_limit,
        )
        self._served = ServedApp(create_app(self.account), tls=context.tls)
        return {
            "ZENDESK_SUBDOMAIN": SANDBOX_SUBDOMAIN,
            "ZENDESK_EMAIL": self.account.email,
            "ZENDESK_API_TOKEN": self.account.api_token,
            "ZENDESK_OAUTH_TOKEN": self.account.oauth_token,
            "ZENPY_FORCE_NETLOC": urlsplit(self._served.url).netloc,
            "ZENPY_FORCE_SCHEME": "https",
        }

    def stop(self) -> None:
        """Stop serving, without waiting for clients to close their connections."""
        if self._served is not None:
            self._served.stop()
            self._served = None
