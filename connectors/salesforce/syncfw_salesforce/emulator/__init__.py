"""A local emulator of the Salesforce REST API for the syncfw sandbox and tests.

:class:`SalesforceEmulator` is what ``syncfw sandbox serve`` starts; :class:`SalesforceOrg` is
the org behind it, with knobs for tests (remaining daily requests, session expiry, injected 5xx,
random faults, counters). simple-salesforce only speaks HTTPS, so the emulator always serves HTTPS with the
sandbox's certificate authority; clients trust it through ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from syncfw import ConfigError
from syncfw.connector import EmulatorContext, SourceEmulator
from syncfw.emulation import ServedApp
from syncfw_salesforce.emulator.app import create_app
from syncfw_salesforce.emulator.jobs import DEFAULT_PROCESSING_TIME
from syncfw_salesforce.emulator.org import ApiError, OrgStats, SalesforceOrg, new_session_id
from syncfw_salesforce.emulator.visibility import RECYCLE_BIN_RETENTION

__all__ = ["ApiError", "OrgStats", "SalesforceEmulator", "SalesforceOrg", "create_app", "new_session_id"]


class SalesforceEmulator(SourceEmulator):
    """The sandbox's Salesforce: seed files from ``context.data_dir``, served over HTTPS.

    Sandbox options: ``bulk=N`` adds N generated accounts and about N contacts; ``faults=PLAN``
    makes API requests fail at random, PLAN in the compact form of
    :meth:`syncfw.emulation.faults.FaultPlan.parse` (e.g. ``5xx=0.1,reset=0.02,seed=7``; see
    :meth:`SalesforceOrg.configure_faults` for the kinds Salesforce supports);
    ``recycle_bin_days=N`` keeps deleted records in the Recycle Bin (returned by ``queryAll``)
    N days instead of Salesforce's 15 (see :mod:`syncfw_salesforce.emulator.visibility`);
    ``query_job_seconds=N`` lets Bulk API 2.0 query jobs run N seconds (default 1; see
    :mod:`syncfw_salesforce.emulator.jobs`).

    Attributes:
        org: the running org (None until :meth:`start`), for tests to turn its knobs.
    """

    name = "salesforce"
    seed_data = Path(__file__).parents[1] / "seed"

    def __init__(self) -> None:
        self.org: SalesforceOrg | None = None
        self._served: ServedApp | None = None

    def start(self, context: EmulatorContext) -> dict[str, str]:
        """Serve the org on 127.0.0.1.

        Returns:
            ``{"SALESFORCE_INSTANCE_URL": "https://127.0.0.1:<port>", "SALESFORCE_SESSION_ID": <id>}``,
            what a recipe's ``session_id`` + ``instance_url`` config needs.

        Raises:
            syncfw.errors.ConfigError: the ``bulk``, ``recycle_bin_days`` or ``query_job_seconds``
                option is not a whole number, or the ``faults`` option is not a fault plan
                Salesforce supports.
        """
        option = context.options.get("bulk", "0") or "0"
        if not option.isdigit():
            raise ConfigError(f"sandbox option bulk={option!r}: expected a whole number of accounts")
        days = context.options.get("recycle_bin_days") or str(RECYCLE_BIN_RETENTION.days)
        if not days.isdigit():
            raise ConfigError(f"sandbox option recycle_bin_days={days!r}: expected a whole number of days")
        job_seconds = context.options.get("query_job_seconds") or str(
            int(DEFAULT_PROCESSING_TIME.total_seconds())
        )
        if not job_seconds.isdigit():
            raise ConfigError(
                f"sandbox option query_job_seconds={job_seconds!r}: expected a whole number of seconds"
            )
        session_id = new_session_id()
        org = SalesforceOrg(
            context.data_dir,
            session_id,
            bulk=int(option),
            recycle_bin_retention=timedelta(days=int(days)),
            query_job_time=timedelta(seconds=int(job_seconds)),
        )
        faults = context.options.get("faults")
        try:
            org.configure_faults(faults)
        except ValueError as exc:
            raise ConfigError(f"sandbox option faults={faults!r}: {exc}") from None
        self.org = org
        self._served = ServedApp(create_app(self.org), tls=context.tls)
        return {"SALESFORCE_INSTANCE_URL": self._served.url, "SALESFORCE_SESSION_ID": session_id}

    def stop(self) -> None:
        """Stop serving, without waiting for clients to close their connections."""
        if self._served is not None:
            self._served.stop()
            self._served = None
