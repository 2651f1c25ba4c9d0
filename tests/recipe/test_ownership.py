"""Cross-file rules: one owner per property, mappings bound to sources, relations without cycles."""

from __future__ import annotations

from pathlib import Path

from syncfw.recipe import load_recipe

from .support import (
    ACCOUNT_MAPPING,
    CONTACT_MAPPING,
    ENV,
    fake_registry,
    problems_of,
    recipe_text,
    where,
    write_files,
)

TWO_SOURCES = """
sf_eu: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
sf_us: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
"""


def _load(tmp_path: Path, files: dict[str, str]) -> tuple[list[tuple[str, int, int, str]], list[str]]:
    """Where each problem is, and its message."""
    write_files(tmp_path, files)
    problems = problems_of(
        lambda: load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV)
    )
    return where(problems), [p.message for p in problems]


def test_two_mappings_writing_one_property_name_both_places(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [{file: account.yaml, source: sf_eu}, {file: extra.yaml, source: sf_us}]
    """
    extra = """
    mapping: extra
    connector: salesforce
    stream: Account
    properties:
      Region: {type: select, value: US}
      Website: {type: url, field: Site}
    match: {property: Salesforce ID, field: Id}
    """
    found, messages = _load(
        tmp_path,
        {
            "recipe.yaml": recipe_text(targets, sources=TWO_SOURCES),
            "account.yaml": ACCOUNT_MAPPING,
            "extra.yaml": extra,
        },
    )
    assert found == [("extra.yaml", 6, 3, "properties.Website")]
    (message,) = messages
    assert f"also written by {tmp_path / 'account.yaml'}:8" in message


def test_a_property_owned_by_notion_cannot_be_written_by_a_mapping(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml]
      owners: {Name: notion, Notes: notion}
    """
    found, messages = _load(tmp_path, {"recipe.yaml": recipe_text(targets), "account.yaml": ACCOUNT_MAPPING})
    assert found == [("account.yaml", 6, 3, "properties.Name")]
    assert f"({tmp_path / 'recipe.yaml'}:15 targets.accounts.owners.Name)" in messages[0]


def test_owners_must_be_notion_or_a_source_that_writes_the_property(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml]
      owners: {Notes: humans, Tier: salesforce}
    """
    found, messages = _load(tmp_path, {"recipe.yaml": recipe_text(targets), "account.yaml": ACCOUNT_MAPPING})
    assert found == [
        ("recipe.yaml", 15, 21, "targets.accounts.owners.Notes"),
        ("recipe.yaml", 15, 35, "targets.accounts.owners.Tier"),
    ]
    assert messages == [
        "owner must be 'notion' or a source of this recipe (salesforce)",
        "no mapping of source 'salesforce' writes 'Tier'",
    ]


def test_sync_key_and_mark_property_are_checked_against_the_mappings(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Account Number
      mappings: [account.yaml]
      on_delete: mark
      mark_property: Website
    """
    found, messages = _load(tmp_path, {"recipe.yaml": recipe_text(targets), "account.yaml": ACCOUNT_MAPPING})
    assert found == [
        ("recipe.yaml", 13, 15, "targets.accounts.sync_key"),
        ("recipe.yaml", 16, 20, "targets.accounts.mark_property"),
    ]
    assert "sync key 'Account Number' is not written by any mapping of this target" in messages[0]
    assert f"{tmp_path / 'account.yaml'}:8 also claims it" in messages[1]


def test_a_mapping_must_match_a_source_of_the_recipe(tmp_path: Path) -> None:
    zendesk = ACCOUNT_MAPPING.replace("connector: salesforce", "connector: zendesk")
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml, {file: contact.yaml, source: sf_asia}]
    """
    found, messages = _load(
        tmp_path,
        {
            "recipe.yaml": recipe_text(targets, sources=TWO_SOURCES),
            "account.yaml": zendesk,
            "contact.yaml": CONTACT_MAPPING,
        },
    )
    assert found == [
        ("recipe.yaml", 13, 16, "targets.accounts.mappings[0]"),
        ("recipe.yaml", 13, 59, "targets.accounts.mappings[1].source"),
    ]
    assert "reads connector 'zendesk' but no source of this recipe uses it" in messages[0]
    assert "no source named 'sf_asia'" in messages[1]


def test_several_sources_of_one_connector_need_an_explicit_source(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml]
    """
    found, messages = _load(
        tmp_path, {"recipe.yaml": recipe_text(targets, sources=TWO_SOURCES), "account.yaml": ACCOUNT_MAPPING}
    )
    assert found == [("recipe.yaml", 13, 16, "targets.accounts.mappings[0]")]
    assert "sources sf_eu, sf_us all use connector 'salesforce'" in messages[0]


def test_a_relation_cycle_is_reported_at_each_relation(tmp_path: Path) -> None:
    account = (
        ACCOUNT_MAPPING
        + "      Primary Contact: {type: relation, target: contacts, field: PrimaryContactId}\n"
    )
    found, messages = _load(
        tmp_path, {"recipe.yaml": recipe_text(), "account.yaml": account, "contact.yaml": CONTACT_MAPPING}
    )
    assert found == [
        ("account.yaml", 9, 3, "properties.Primary Contact"),
        ("contact.yaml", 8, 3, "properties.Account"),
    ]
    assert all("relations form a cycle (accounts → contacts → accounts)" in m for m in messages)


def test_a_target_has_one_title_property(tmp_path: Path) -> None:
    extra = """
    mapping: extra
    connector: salesforce
    stream: Account
    properties:
      Label: {type: title, field: Name}
    match: {property: Salesforce ID, field: Id}
    """
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [{file: account.yaml, source: sf_eu}, {file: extra.yaml, source: sf_us}]
    """
    files = {"recipe.yaml": recipe_text(targets, sources=TWO_SOURCES), "account.yaml": ACCOUNT_MAPPING}
    found, messages = _load(tmp_path, {**files, "extra.yaml": extra})
    assert found == [("extra.yaml", 5, 3, "properties.Label")]
    assert f"already has its title property 'Name' ({tmp_path / 'account.yaml'}:6)" in messages[0]
