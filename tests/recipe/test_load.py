"""Loading valid recipes: the shipped one, references, defaults, mapping binding, JSON Schema."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel, SecretStr

from syncfw.errors import ConfigError
from syncfw.mapping import PROPERTY_TYPES
from syncfw.plugins import Registry
from syncfw.recipe import load_mapping, load_recipe, mapping_json_schema, recipe_json_schema

from .support import (
    ACCOUNT_MAPPING,
    CONTACT_MAPPING,
    ENV,
    FakeSalesforceConfig,
    fake_registry,
    problems_of,
    recipe_text,
    write_files,
)

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "recipes" / "salesforce-accounts.yaml"
SHIPPED_ENV = {
    "NOTION_TOKEN": "ntn_shipped_token_value",
    "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
    "SALESFORCE_SESSION_ID": "00Dshipped!SESSION",
    "NOTION_PARENT_PAGE_ID": "1f2e3d4c5b6a47988776655443322110",
}


def test_shipped_recipe_loads_with_its_mappings_bound() -> None:
    recipe = load_recipe(SHIPPED, registry=fake_registry(), environ=SHIPPED_ENV)

    assert recipe.name == "salesforce-accounts"
    assert recipe.notion.token.get_secret_value() == "ntn_shipped_token_value"
    assert recipe.notion.rate_limit == 3.0
    assert recipe.sources["salesforce"].stale_after == timedelta(hours=1)
    config = recipe.sources["salesforce"].config
    assert isinstance(config, FakeSalesforceConfig)
    assert config.session_id == SecretStr("00Dshipped!SESSION")
    accounts, contacts = recipe.targets["accounts"], recipe.targets["contacts"]
    assert accounts.database is not None and accounts.database.title == "Accounts"
    assert accounts.database.parent_page == SHIPPED_ENV["NOTION_PARENT_PAGE_ID"]
    assert accounts.owners == {"Notes": "notion"}
    (account_mapping,) = accounts.mappings
    assert account_mapping.file == REPO / "mappings" / "salesforce" / "account.yaml"
    assert account_mapping.source == "salesforce" and account_mapping.stream == "Account"
    assert account_mapping.properties["Account Owner"].field == "Owner.Name"
    assert account_mapping.properties["Website"].transforms[0].name == "url"
    assert contacts.properties["Account"].target == "accounts"
    assert [t.name for t in recipe.targets_in_order()] == ["accounts", "contacts"]
    assert recipe.state_path == Path(".syncfw/salesforce-accounts.sqlite")


def test_shipped_recipe_validates_against_the_installed_salesforce_connector(registry: Registry) -> None:
    if "salesforce" not in registry.connectors:
        pytest.skip("syncfw-salesforce is not installed")
    recipe = load_recipe(SHIPPED, registry=registry, environ=SHIPPED_ENV)
    config = recipe.sources["salesforce"].config
    assert isinstance(config, BaseModel) and isinstance(dict(config)["session_id"], SecretStr)


def test_shipped_recipe_without_its_variables_names_each_one() -> None:
    problems = problems_of(lambda: load_recipe(SHIPPED, environ={}))
    messages = "\n".join(p.message for p in problems)
    for name in SHIPPED_ENV:
        assert f"environment variable {name} is not set" in messages
    token = next(p for p in problems if p.path == "notion.token")
    assert (token.line, token.column) == (10, 10)


def test_shipped_mapping_loads_alone() -> None:
    mapping = load_mapping(REPO / "mappings" / "salesforce" / "contact.yaml")
    assert mapping.stream == "Contact" and mapping.sync_key == "Salesforce ID"
    assert mapping.properties["Name"].template == "{{ FirstName }} {{ LastName }}"
    assert (mapping.properties["Account"].line, mapping.properties["Account"].column) == (13, 3)


def test_references_defaults_files_and_escapes_are_resolved(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "notion.txt").write_text("ntn_FROM_FILE_value\n")
    head = """
    recipe: test
    owner: ada@example.com
    description: Price is $${not a reference} here. Runs by hand in tests. If it fails, a test fails.
    tier: production
    notion: {token: "${file:secrets/notion.txt}", rate_limit: "${env:RATE:-2.5}/s"}
    alerts: ["https://hooks.example.com/${env:HOOK_ID}"]
    state: {path: state/test.sqlite}
    """
    write_files(
        tmp_path,
        {
            "recipe.yaml": recipe_text(head=head),
            "account.yaml": ACCOUNT_MAPPING,
            "contact.yaml": CONTACT_MAPPING,
        },
    )
    recipe = load_recipe(tmp_path / "recipe.yaml", environ={**ENV, "HOOK_ID": "T01/B02"})

    assert recipe.notion.token.get_secret_value() == "ntn_FROM_FILE_value"
    assert recipe.notion.rate_limit == 2.5
    assert (
        recipe.description
        == "Price is ${not a reference} here. Runs by hand in tests. If it fails, a test fails."
    )
    assert [a.url.get_secret_value() for a in recipe.alerts] == ["https://hooks.example.com/T01/B02"]
    assert recipe.state_path == tmp_path / "state" / "test.sqlite"
    # without a registry the connector config stays a plain dict, resolved
    assert recipe.sources["salesforce"].config == {
        "instance_url": ENV["SF_URL"],
        "session_id": ENV["SF_SESSION"],
    }


def test_targets_in_order_puts_related_targets_first_and_allows_self_relations(tmp_path: Path) -> None:
    account = ACCOUNT_MAPPING + "      Parent: {type: relation, target: accounts, field: ParentId}\n"
    targets = """
    contacts:
      data_source: c0000000-0000-4000-8000-0000000000c1
      sync_key: Salesforce ID
      mappings: [contact.yaml]
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml]
    """
    write_files(
        tmp_path,
        {"recipe.yaml": recipe_text(targets), "account.yaml": account, "contact.yaml": CONTACT_MAPPING},
    )
    recipe = load_recipe(tmp_path / "recipe.yaml", environ=ENV)
    assert list(recipe.targets) == ["contacts", "accounts"]
    assert [t.name for t in recipe.targets_in_order()] == ["accounts", "contacts"]


def test_a_mapping_entry_can_name_its_source(tmp_path: Path) -> None:
    sources = """
    sf_eu: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
    sf_us: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
    """
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [{file: account.yaml, source: sf_us}]
    """
    write_files(
        tmp_path, {"recipe.yaml": recipe_text(targets, sources=sources), "account.yaml": ACCOUNT_MAPPING}
    )
    recipe = load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV)
    assert recipe.targets["accounts"].mappings[0].source == "sf_us"
    assert recipe.targets["accounts"].mappings[0].line == 13


@pytest.mark.parametrize(("days", "accepted"), [(30, True), (31, False)])
def test_experimental_recipes_expire_within_30_days(tmp_path: Path, days: int, accepted: bool) -> None:
    expires = (date.today() + timedelta(days=days)).isoformat()
    head = f"""
    recipe: test
    owner: ada@example.com
    description: Trying something. Runs by hand in tests. If it fails, a test fails.
    tier: experimental
    expires: {expires}
    notion: {{token: "${{env:NOTION_TOKEN}}"}}
    """
    write_files(
        tmp_path,
        {
            "recipe.yaml": recipe_text(head=head),
            "account.yaml": ACCOUNT_MAPPING,
            "contact.yaml": CONTACT_MAPPING,
        },
    )
    if accepted:
        assert load_recipe(tmp_path / "recipe.yaml", environ=ENV).expires == date.fromisoformat(expires)
    else:
        (problem,) = problems_of(lambda: load_recipe(tmp_path / "recipe.yaml", environ=ENV))
        assert (problem.line, problem.column, problem.path) == (5, 10, "expires")
        assert "more than 30 days ahead" in problem.message


def test_json_schemas_describe_the_files() -> None:
    recipe = recipe_json_schema()
    assert set(recipe["required"]) >= {
        "recipe",
        "owner",
        "description",
        "tier",
        "notion",
        "sources",
        "targets",
    }
    assert recipe["additionalProperties"] is False
    target = recipe["$defs"]["Target"]["properties"]
    assert set(target["on_delete"]["enum"]) == {"archive", "mark", "ignore"}
    mapping = mapping_json_schema()
    assert set(mapping["$defs"]["PropertySpec"]["properties"]["type"]["enum"]) == set(PROPERTY_TYPES)


def test_load_mapping_reports_its_own_mistakes(tmp_path: Path) -> None:
    write_files(tmp_path, {"m.yaml": "mapping: m\nconnector: salesforce\nstream: Account\nsync_key: Nope\n"})
    with pytest.raises(ConfigError) as caught:
        load_mapping(tmp_path / "m.yaml")
    assert [(p.line, p.path) for p in caught.value.problems] == [(1, "properties"), (4, "sync_key")]
