"""Value transforms for mappings of HubSpot records (registered by the plugin).

HubSpot gives a record's associations as ``{"companies": {"results": [{"id": "1",
"type": "contact_to_company"}, {"id": "1", "type": "contact_to_company_unlabeled"}]}}``: one
entry per association label, so an associated record can appear more than once (HubSpot,
"Associations v3", https://developers.hubspot.com/docs/api-reference/crm-associations-v3/guide).
A relation needs the related records' keys.
"""

from __future__ import annotations

from typing import Any


def hubspot_ids(value: Any, association_type: str | None = None) -> Any:
    """The unique ids of associated records, in order: ``[{"id", "type"}, ...]`` → ``["1", ...]``.

    Accepts the ``results`` list or the ``{"results": [...]}`` object. With ``association_type``
    (``{hubspot_ids: contact_to_company}``, the primary company) only entries of that type count.
    None stays None.

    Raises:
        ValueError: the value is not in HubSpot's association shape.
    """
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("results")
    if not isinstance(value, list) or not all(isinstance(item, dict) and "id" in item for item in value):
        raise ValueError("expected HubSpot associations: a list of {id, type} objects")
    picked = (str(item["id"]) for item in value if association_type in (None, item.get("type")))
    return list(dict.fromkeys(picked))
