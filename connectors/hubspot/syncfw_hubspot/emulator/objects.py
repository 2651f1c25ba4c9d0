"""The CRM object types the emulator knows, and how HubSpot names them.

An object type is reached by its plural name (``contacts``), its singular (``contact``) or its
object type id (``0-1``); ids of standard types from HubSpot's "Understanding the CRM" guide
(https://developers.hubspot.com/docs/guides/crm/understanding-the-crm). Any other name is a
custom object when a seed file or the Python API defines it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TYPE_ID = re.compile(r"\d+-\d+")


@dataclass(frozen=True)
class ObjectType:
    """One CRM object type.

    Attributes:
        name: the plural API name (``contacts``), also the seed file's stem.
        type_id: the object type id (``0-1``), empty when unknown.
        singular: the singular name used in association type labels (``contact_to_company``).
        modified: the last-modified property (``lastmodifieddate`` for contacts).
        defaults: the properties returned when a request names none (besides ``createdate``,
            ``hs_object_id`` and ``modified``).
    """

    name: str
    type_id: str
    singular: str
    modified: str = "hs_lastmodifieddate"
    defaults: tuple[str, ...] = ()

    @property
    def always(self) -> tuple[str, ...]:
        """The properties every answer carries."""
        return ("createdate", "hs_object_id", self.modified)


STANDARD: tuple[ObjectType, ...] = (
    ObjectType("contacts", "0-1", "contact", "lastmodifieddate", ("email", "firstname", "lastname")),
    ObjectType("companies", "0-2", "company", defaults=("domain", "name")),
    ObjectType("deals", "0-3", "deal", defaults=("amount", "closedate", "dealname", "dealstage", "pipeline")),
    ObjectType(
        "tickets",
        "0-5",
        "ticket",
        defaults=(
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "subject",
        ),
    ),
    ObjectType("products", "0-7", "product", defaults=("description", "name", "price")),
    ObjectType("line_items", "0-8", "line_item"),
    ObjectType("quotes", "0-14", "quote"),
    ObjectType("tasks", "0-27", "task"),
    ObjectType("notes", "0-46", "note"),
    ObjectType("meetings", "0-47", "meeting"),
    ObjectType("calls", "0-48", "call"),
    ObjectType("emails", "0-49", "email"),
)


def custom(name: str) -> ObjectType:
    """A custom object type named by a seed file (``2-123456`` or ``projects``)."""
    type_id = name if _TYPE_ID.fullmatch(name) else ""
    return ObjectType(name, type_id, name[:-1] if name.endswith("s") else name)


def resolve(name: str, known: dict[str, ObjectType]) -> ObjectType | None:
    """The object type ``name`` denotes among ``known`` (by plural, singular or id; any case)."""
    wanted = name.lower()
    for object_type in known.values():
        if wanted in (object_type.name.lower(), object_type.singular.lower(), object_type.type_id):
            return object_type
    return None


def association_label(from_type: ObjectType, to_type: ObjectType) -> str:
    """The default association type label: ``contact_to_company``."""
    return f"{from_type.singular}_to_{to_type.singular}"


def reverse_label(label: str, from_type: ObjectType, to_type: ObjectType) -> str:
    """The label seen from the other side: ``contact_to_company_unlabeled`` →
    ``company_to_contact_unlabeled``; a custom label gets the default reverse label."""
    forward = association_label(from_type, to_type)
    backward = association_label(to_type, from_type)
    if label == forward or label.startswith(forward + "_"):
        return backward + label[len(forward) :]
    return backward
