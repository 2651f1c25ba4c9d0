"""Generated accounts and contacts for exercising pagination (the sandbox option ``bulk``).

Deterministic for a given count and seed, in the same REST shape as the seed files. Stamps come
in groups of four sharing one ``SystemModstamp``, as after a data load, and are older than the
seed data's so an incremental read of the seed data is not disturbed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from syncfw_salesforce.datetimes import format_datetime
from syncfw_salesforce.emulator.ids import make_id

_FIRST = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Hooli",
    "Vandelay",
)
_SECOND = ("Industries", "Holdings", "Systems", "Logistics", "Foods", "Energy", "Labs", "Partners")
_INDUSTRIES = ("Technology", "Manufacturing", "Energy", "Retail", "Healthcare", "Finance", "Education")
_TYPES = ("Customer - Direct", "Customer - Channel", "Prospect", "Other")
_CITIES = (("Austin", "USA"), ("London", "UK"), ("Singapore", "Singapore"), ("Berlin", "Germany"))
_GIVEN = ("Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus")
_FAMILY = ("Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton")
_TITLES = ("CEO", "CFO", "VP, Sales", "Buyer", "Director, IT", "Office Manager")
_BASE = datetime(2026, 4, 1, tzinfo=UTC)


def _attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def generate(
    count: int, owner_ids: Sequence[str], *, seed: int = 0, version: str = "59.0"
) -> dict[str, list[dict[str, Any]]]:
    """``count`` accounts and about ``count`` contacts linked to them.

    Args:
        count: how many accounts.
        owner_ids: User Ids to own the accounts (round robin); none leaves ``OwnerId`` null.
        seed: the random seed; equal arguments give equal records.
        version: API version written into ``attributes.url``.

    Returns:
        ``{"Account": [...], "Contact": [...]}``, each ordered by ``SystemModstamp``.
    """
    rng = random.Random(seed)
    accounts: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    for index in range(count):
        account_id = make_id("001", "bk", index + 1)
        stamp = format_datetime(_BASE + timedelta(seconds=(index // 4) * 13))
        city, country = rng.choice(_CITIES)
        name = f"{rng.choice(_FIRST)} {rng.choice(_SECOND)} {index + 1:05d}"
        accounts.append(
            {
                "attributes": _attributes("Account", account_id, version),
                "Id": account_id,
                "IsDeleted": False,
                "Name": name,
                "Type": rng.choice(_TYPES),
                "Industry": rng.choice(_INDUSTRIES),
                "AnnualRevenue": float(rng.randrange(1, 500) * 100_000),
                "Phone": f"(555) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                "Website": f"www.{name.split()[0].lower()}{index + 1}.example.com",
                "BillingCity": city,
                "BillingCountry": country,
                "Description": None,
                "OwnerId": owner_ids[index % len(owner_ids)] if owner_ids else None,
                "CreatedDate": stamp,
                "SystemModstamp": stamp,
            }
        )
        for _ in range(rng.choice((0, 1, 1, 2))):
            contact_id = make_id("003", "bk", len(contacts) + 1)
            given, family = rng.choice(_GIVEN), rng.choice(_FAMILY)
            contacts.append(
                {
                    "attributes": _attributes("Contact", contact_id, version),
                    "Id": contact_id,
                    "IsDeleted": False,
                    "FirstName": given,
                    "LastName": family,
                    "Email": f"{given.lower()}.{family.lower()}{len(contacts) + 1}@example.com",
                    "Phone": f"(555) {rng.randrange(100, 999)}-{rng.randrange(1000, 9999)}",
                    "Title": rng.choice(_TITLES),
                    "Department": None,
                    "AccountId": account_id,
                    "OwnerId": owner_ids[index % len(owner_ids)] if owner_ids else None,
                    "CreatedDate": stamp,
                    "SystemModstamp": stamp,
                }
            )
    return {"Account": accounts, "Contact": contacts}
