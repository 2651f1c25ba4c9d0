"""A local emulator of the Salesforce REST API for the syncfw sandbox and tests.

:class:`SalesforceEmulator` is what ``syncfw sandbox serve`` starts; :class:`SalesforceOrg` is
the org behind it, with knobs for tests (remaining daily requests, session expiry, injected 5xx,
counters). simple-salesforce only speaks HTTPS, so the emulator always serves HTTPS with the
sandbox's certificate authority; clients trust it through ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.errors import ConfigError
from syncfw.sandbox.server import ServedApp
from syncfw_salesforce.emulator.app import create_app
from syncfw_salesforce.emulator.org import ApiError, OrgStats, SalesforceOrg, new_session_id

__all__ = ["ApiError", "OrgStats", "SalesforceEmulator", "SalesforceOrg", "create_app", "new_session_id"]


class SalesforceEmulator(SourceEmulator):
    """The sandbox's Salesforce: seed files from ``context.data_dir``, served over HTTPS.

    Sandbox options: ``bulk=N`` adds N generated accounts and about N contacts.

    Attributes:
        org: the running org (None until :meth:`start`), for tests to turn its knobs.
    """

    name = "salesforce"

    def __init__(self) -> None:
        self.org: SalesforceOrg | None = None
        self._served: ServedApp | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Serve the org on 127.0.0.1.

        Returns:
            ``{"SALESFORCE_INSTANCE_URL": "https://127.0.0.1:<port>", "SALESFORCE_SESSION_ID": <id>}``,
            what a recipe's ``session_id`` + ``instance_url`` config needs.

        Raises:
            syncfw.errors.ConfigError: the ``bulk`` option is not a whole number.
        """
        option = context.options.get("bulk", "0") or "0"
        if not option.isdigit():
            raise ConfigError(f"sandbox option bulk={option!r}: expected a whole number of accounts")
        session_id = new_session_id()
        self.org = SalesforceOrg(context.data_dir, session_id, bulk=int(option))
        self._served = ServedApp(create_app(self.org), tls=context.tls)
        return {"SALESFORCE_INSTANCE_URL": self._served.url, "SALESFORCE_SESSION_ID": session_id}

    def stop(self) -> None:
        """Stop serving, without waiting for clients to close their connections."""
        if self._served is not None:
            self._served.stop()
            self._served = None
