"""The org's daily API request allowance, as Salesforce reports it.

Two sources: the ``Sforce-Limit-Info: api-usage=18/15000`` header on every response
(REST API Developer Guide, "Limit Info Header",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm),
which simple-salesforce parses into ``Salesforce.api_usage``; and ``DailyApiRequests`` of the
``/limits/`` resource (``{"Max": 15000, "Remaining": 14976}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiUsage:
    """API requests used and allowed in the rolling 24-hour window.

    Attributes:
        used: requests counted so far.
        limit: the org's allowance (15,000 for a Developer Edition org).
    """

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        """Requests left before Salesforce answers ``REQUEST_LIMIT_EXCEEDED``."""
        return max(self.limit - self.used, 0)

    def __str__(self) -> str:
        return f"{self.used}/{self.limit} daily API requests used"

    @classmethod
    def from_header_usage(cls, api_usage: Mapping[str, Any]) -> ApiUsage | None:
        """From simple-salesforce's ``Salesforce.api_usage`` (``{"api-usage": Usage(used, total)}``)."""
        usage = api_usage.get("api-usage")
        if usage is None:
            return None
        return cls(used=int(usage.used), limit=int(usage.total))

    @classmethod
    def from_limits(cls, limits: Mapping[str, Any]) -> ApiUsage | None:
        """From the ``/limits/`` resource's ``DailyApiRequests`` entry."""
        daily = limits.get("DailyApiRequests")
        if not isinstance(daily, Mapping) or "Max" not in daily or "Remaining" not in daily:
            return None
        limit = int(daily["Max"])
        return cls(used=limit - int(daily["Remaining"]), limit=limit)
