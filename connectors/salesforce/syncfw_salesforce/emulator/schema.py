"""sObject schemas the emulator infers from seed records, and the describe shapes built from them.

A field exists when some record of the sObject has it, or when it is one of the common standard
fields of ``Account``, ``Contact`` and ``User`` (so an empty seed file still has ``Name``). ``Id``
and ``SystemModstamp`` always exist; ``IsDeleted`` only where Salesforce has it (``User`` has
none). Standard fields have their Salesforce types; other types come from the values: datetimes
and dates by their text, numbers, booleans, 15/18-character Ids in ``...Id`` / ``...__c`` fields
(lookups), compound address objects. A lookup ``OwnerId`` gives the relationship ``Owner`` (``Foo__c`` gives
``Foo__r``), pointing at the sObject whose Ids share the key prefix of the values; a nested
object with its own ``attributes`` in a seed record is a relationship too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FieldType = Literal["id", "reference", "string", "boolean", "int", "double", "date", "datetime", "address"]

_ID = re.compile(r"[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# lookups whose target is fixed whatever the data says (standard fields)
_STANDARD_LOOKUPS = {
    "OwnerId": "User",
    "CreatedById": "User",
    "LastModifiedById": "User",
    "ManagerId": "User",
    "AccountId": "Account",
    "ContactId": "Contact",
    "ReportsToId": "Contact",
    "ProfileId": "Profile",
}
_ALWAYS: dict[str, FieldType] = {"Id": "id", "SystemModstamp": "datetime"}
_AUDIT_FIELDS = (
    "OwnerId",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
# a few of the standard fields of the sObjects the sandbox ships (Object Reference for the
# Salesforce Platform, https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/)
_STANDARD_FIELDS: dict[str, tuple[str, ...]] = {
    "Account": (
        *("Id", "IsDeleted", "Name", "Type", "ParentId", "AccountNumber", "Phone", "Fax", "Website"),
        *("BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry"),
        *("Industry", "AnnualRevenue", "NumberOfEmployees", "Description", *_AUDIT_FIELDS),
    ),
    "Contact": (
        *("Id", "IsDeleted", "AccountId", "Salutation", "FirstName", "LastName", "Name", "Email"),
        *("Phone", "MobilePhone", "Title", "Department", "ReportsToId", "Birthdate"),
        *("MailingStreet", "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry"),
        *_AUDIT_FIELDS[1:],
        "OwnerId",
    ),
    "User": (
        *("Id", "Username", "FirstName", "LastName", "Name", "Email", "Title", "IsActive"),
        *("ManagerId", "ProfileId", *_AUDIT_FIELDS[1:]),
    ),
}
_STANDARD_TYPES: dict[str, FieldType] = {
    **_ALWAYS,
    "IsDeleted": "boolean",
    "IsActive": "boolean",
    "AnnualRevenue": "double",
    "NumberOfEmployees": "int",
    "CreatedDate": "datetime",
    "LastModifiedDate": "datetime",
    "Birthdate": "date",
}


@dataclass(frozen=True)
class FieldInfo:
    """One field of an sObject: name as Salesforce spells it, type, and lookup target if any."""

    name: str
    type: FieldType
    reference_to: str | None = None
    relationship_name: str | None = None


@dataclass(frozen=True)
class Relationship:
    """A parent relationship such as ``Owner``: its lookup field and target sObject (if known)."""

    name: str
    field: str | None
    target: str | None


@dataclass(frozen=True)
class SObjectSchema:
    """The fields and parent relationships of one sObject, looked up case-insensitively."""

    name: str
    key_prefix: str | None
    fields: Mapping[str, FieldInfo]
    relationships: Mapping[str, Relationship]

    def field(self, name: str) -> FieldInfo | None:
        """The field called ``name`` (any case), or None."""
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> Relationship | None:
        """The relationship called ``name`` (any case), or None."""
        return self.relationships.get(name.lower())

    def describe(self, version: str) -> dict[str, Any]:
        """The ``/sobjects/<Name>/describe/`` body (a subset of Salesforce's DescribeSObjectResult)."""
        return {
            "name": self.name,
            "label": self.name,
            "keyPrefix": self.key_prefix,
            "custom": self.name.endswith("__c"),
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "fields": [_describe_field(info) for info in self.fields.values()],
            "urls": self.urls(version),
        }

    def summary(self, version: str) -> dict[str, Any]:
        """The entry of this sObject in the ``/sobjects/`` list."""
        return {
            "name": self.name,
            "label": self.name,
            "keyPrefix": self.key_prefix,
            "custom": self.name.endswith("__c"),
            "queryable": True,
            "retrieveable": True,
            "replicateable": True,
            "urls": self.urls(version),
        }

    def urls(self, version: str) -> dict[str, str]:
        """The resource URLs of the sObject."""
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _describe_field(info: FieldInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "label": info.name,
        "type": info.type,
        "custom": info.name.endswith("__c"),
        "nillable": info.name not in _ALWAYS,
        "referenceTo": [info.reference_to] if info.reference_to else [],
        "relationshipName": info.relationship_name,
    }


def key_prefix(records: Iterable[Mapping[str, Any]]) -> str | None:
    """The key prefix shared by the records' Ids (first record wins), or None."""
    for record in records:
        record_id = record.get("Id")
        if isinstance(record_id, str) and len(record_id) >= 3:
            return record_id[:3]
    return None


def infer_schema(
    name: str, records: Sequence[Mapping[str, Any]], prefixes: Mapping[str, str]
) -> SObjectSchema:
    """Infer the schema of sObject ``name`` from its records (and its standard fields).

    Args:
        name: the sObject name.
        records: its records in REST shape.
        prefixes: key prefix -> sObject name, for finding where lookups point.
    """
    values: dict[str, list[Any]] = {key: [] for key in (*_ALWAYS, *_STANDARD_FIELDS.get(name, ()))}
    nested: dict[str, str | None] = {}
    for record in records:
        for key, value in record.items():
            if key == "attributes":
                continue
            if isinstance(value, Mapping) and "attributes" in value:
                nested[key] = str(value["attributes"].get("type")) if value["attributes"] else None
                continue
            values.setdefault(key, []).append(value)
    fields: dict[str, FieldInfo] = {}
    relationships: dict[str, Relationship] = {}
    for key, seen in values.items():
        info = _field_info(key, seen, {**prefixes, "ParentId": name})
        fields[key.lower()] = info
        if info.relationship_name:
            relationships[info.relationship_name.lower()] = Relationship(
                info.relationship_name, info.name, info.reference_to
            )
    for key, target in nested.items():
        known = relationships.get(key.lower())
        relationships[key.lower()] = Relationship(key, known.field if known else None, target)
    return SObjectSchema(name, key_prefix(records), fields, relationships)


def _field_info(name: str, seen: list[Any], lookups: Mapping[str, str]) -> FieldInfo:
    """``lookups`` maps key prefixes, and field names with a fixed target, to sObject names."""
    present = [value for value in seen if value is not None]
    if name in _STANDARD_TYPES:
        return FieldInfo(name, _STANDARD_TYPES[name])
    standard_target = _STANDARD_LOOKUPS.get(name) or lookups.get(name)
    is_lookup_name = (name.endswith("Id") and len(name) > 2) or name.endswith("__c")
    if is_lookup_name and (
        standard_target or (present and all(isinstance(v, str) and _ID.fullmatch(v) for v in present))
    ):
        target = standard_target or next((lookups[v[:3]] for v in present if v[:3] in lookups), None)
        relationship = name[:-2] if name.endswith("Id") else name[:-3] + "__r"
        return FieldInfo(name, "reference", target, relationship)
    return FieldInfo(name, _value_type(present))


def _value_type(present: list[Any]) -> FieldType:
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "double"
    if all(isinstance(v, Mapping) for v in present):
        return "address"
    if all(isinstance(v, str) for v in present):
        if all(_DATETIME.match(v) for v in present):
            return "datetime"
        if all(_DATE.fullmatch(v) for v in present):
            return "date"
    return "string"
