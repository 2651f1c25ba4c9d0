"""Helpers for recipe tests: files written from text, and a registry with a fake connector."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.errors import ConfigError, Problem
from syncfw.mapping.transforms import BUILTIN_TRANSFORMS
from syncfw.plugins import Registry


class FakeSalesforceConfig(BaseModel):
    """Shaped like the real connector's: a URL and a secret session id."""

    model_config = ConfigDict(extra="forbid")
    instance_url: str
    session_id: SecretStr
    api_version: str = "59.0"

    @field_validator("instance_url")
    @classmethod
    def _https(cls, value: str) -> str:
        # echoes its input, like careless third-party validators do
        if not value.startswith("https://"):
            raise ValueError(f"instance_url must start with https://, got {value}")
        return value


class FakeSalesforce(Connector):
    name = "salesforce"
    config_model = FakeSalesforceConfig

    def check(self) -> None:
        return None

    def stream(self, name: str) -> StreamSpec:
        return StreamSpec(name, "Id", "SystemModstamp")

    def read(self, stream: str, cursor: str | None, fields: Sequence[str]) -> Iterator[Record | Checkpoint]:
        yield Checkpoint(stream, "0")


class FakeTokenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: SecretStr


class FakeHubSpot(FakeSalesforce):
    name = "hubspot"
    config_model = FakeTokenConfig


class FakeZendesk(FakeSalesforce):
    name = "zendesk"
    config_model = FakeTokenConfig


def fake_registry(**transforms: Callable[..., Any]) -> Registry:
    return Registry(
        connectors={"salesforce": FakeSalesforce, "hubspot": FakeHubSpot, "zendesk": FakeZendesk},
        transforms={**BUILTIN_TRANSFORMS, **transforms},
    )


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def problems_of(call: Callable[[], object]) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        call()
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[str, int, int, str]]:
    """(file name, line, column, key path) of each problem, in the reported order."""
    return [(Path(p.file).name, p.line, p.column, p.path) for p in problems]


ACCOUNT_MAPPING = """
    mapping: sf-account
    connector: salesforce
    stream: Account
    sync_key: Salesforce ID
    properties:
      Name: {type: title, field: Name}
      Salesforce ID: {type: rich_text, field: Id}
      Website: {type: url, field: Website, transforms: [url]}
"""

CONTACT_MAPPING = """
    mapping: sf-contact
    connector: salesforce
    stream: Contact
    sync_key: Salesforce ID
    properties:
      Name: {type: title, template: "{{ FirstName }} {{ LastName }}"}
      Salesforce ID: {type: rich_text, field: Id}
      Account: {type: relation, target: accounts, field: AccountId}
"""

ENV = {
    "NOTION_TOKEN": "ntn_TOKENVALUE_0123456789",
    "SF_URL": "https://acme.my.salesforce.com",
    "SF_SESSION": "00Dx0000SESSIONVALUE!AQ",
    "HUBSPOT_TOKEN": "pat-na1-HUBSPOTVALUE",
    "ZENDESK_TOKEN": "ZENDESKVALUE0123",
}

# Several sources into one target: Salesforce creates the account pages, HubSpot enriches them by
# domain, Zendesk tickets are counted per account, Salesforce opportunities summed by account id.
PRIMARY_ACCOUNT_MAPPING = (
    ACCOUNT_MAPPING + "      Domain: {type: rich_text, field: Website, transforms: [domain]}\n"
)

HUBSPOT_COMPANY_MAPPING = """
    mapping: hubspot-company
    connector: hubspot
    stream: companies
    match:
      property: Domain
      field: properties.domain
      transforms: [domain]
    properties:
      Lifecycle Stage: {type: select, field: properties.lifecyclestage}
"""

ZENDESK_TICKETS_MAPPING = """
    mapping: zendesk-ticket-stats
    connector: zendesk
    stream: tickets
    match: {property: Domain, field: organization.domain, transforms: [domain]}
    properties:
      Open Tickets: {type: number, aggregate: {function: count, where: "status in ['new', 'open', 'pending']"}}
      Last Ticket: {type: date, aggregate: {function: max, field: updated_at}}
      Last Subject: {type: rich_text, aggregate: {function: latest, field: subject, by: updated_at}}
"""

OPPORTUNITY_MAPPING = """
    mapping: sf-opportunity-stats
    connector: salesforce
    stream: Opportunity
    match: {property: Salesforce ID, field: AccountId}
    properties:
      Pipeline: {type: number, aggregate: {function: sum, field: Amount, where: "not IsClosed"}, default: 0}
"""

MULTI_SOURCES = """
salesforce: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
hubspot: {connector: hubspot, config: {token: "${env:HUBSPOT_TOKEN}"}}
zendesk: {connector: zendesk, config: {token: "${env:ZENDESK_TOKEN}"}}
"""

MULTI_TARGETS = """
accounts:
  data_source: a0000000-0000-4000-8000-0000000000a1
  sync_key: Salesforce ID
  mappings: [account.yaml, hubspot.yaml, zendesk.yaml, opportunity.yaml]
  owners: {Notes: notion, Lifecycle Stage: hubspot}
"""

MULTI_MAPPINGS = {
    "account.yaml": PRIMARY_ACCOUNT_MAPPING,
    "hubspot.yaml": HUBSPOT_COMPANY_MAPPING,
    "zendesk.yaml": ZENDESK_TICKETS_MAPPING,
    "opportunity.yaml": OPPORTUNITY_MAPPING,
}


def multi_source_files(targets: str = MULTI_TARGETS, **files: str) -> dict[str, str]:
    """The files of a recipe with one target fed by Salesforce, HubSpot and Zendesk."""
    return {"recipe.yaml": recipe_text(targets, sources=MULTI_SOURCES), **MULTI_MAPPINGS, **files}


def recipe_text(targets: str = "", *, sources: str = "", head: str = "") -> str:
    """A valid recipe (accounts + contacts) unless parts are replaced."""
    sources = (
        sources
        or """
      salesforce:
        connector: salesforce
        config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}
    """
    )
    targets = (
        targets
        or """
      accounts:
        data_source: a0000000-0000-4000-8000-0000000000a1
        sync_key: Salesforce ID
        mappings: [account.yaml]
      contacts:
        data_source: c0000000-0000-4000-8000-0000000000c1
        sync_key: Salesforce ID
        mappings: [contact.yaml]
    """
    )
    head = (
        head
        or """
    recipe: test
    owner: ada@example.com
    description: Test recipe. Runs by hand in tests. If it fails, a test fails.
    tier: production
    notion: {token: "${env:NOTION_TOKEN}"}
    """
    )
    return (
        textwrap.dedent(head).strip("\n")
        + "\nsources:\n"
        + textwrap.indent(textwrap.dedent(sources).strip("\n"), "  ")
        + "\ntargets:\n"
        + textwrap.indent(textwrap.dedent(targets).strip("\n"), "  ")
        + "\n"
    )
