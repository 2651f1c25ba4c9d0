"""Running syncfw like a factory floor: freshness, run history, the Notion dashboard, alerts, audit.

* :func:`recipe_status` — freshness of each source against ``stale_after``, the last run, open
  quarantine and drift; what ``syncfw status`` shows (exit code 1 when unhealthy).
* :class:`HealthDashboard` — run observer writing the **Sync Health** and **Sync Runs** databases
  in Notion; :func:`init_dashboard` creates them (``syncfw notion init``).
* :class:`Alerts` — run observer sending one apprise notification per change of state.
* :func:`~syncfw.health.publish.publish_statuses` — ``syncfw status --publish``: the dashboard rows
  and alerts from the status alone (a recipe whose scheduler stopped turns stale there too).
* :func:`run_history` / :func:`run_context` — ``syncfw runs``: who started each run and what it did.
* :func:`audit_recipe` — ``syncfw audit``: owner, tier, expiry, last success, lineage, personal data.
"""

from syncfw.health.alerts import Alerts, raise_alerts
from syncfw.health.audit import RecipeAudit, audit_recipe
from syncfw.health.dashboard import HealthDashboard, init_dashboard
from syncfw.health.history import RunEntry, record_context, run_context, run_history
from syncfw.health.status import RecipeStatus, SourceStatus, recipe_status

__all__ = [
    "Alerts",
    "HealthDashboard",
    "RecipeAudit",
    "RecipeStatus",
    "RunEntry",
    "SourceStatus",
    "audit_recipe",
    "init_dashboard",
    "raise_alerts",
    "recipe_status",
    "record_context",
    "run_context",
    "run_history",
]
