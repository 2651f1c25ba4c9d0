"""Every mistake of a recipe and its mapping files, reported at once at file:line:col key.path."""

from __future__ import annotations

from pathlib import Path

from syncfw.recipe import load_mapping, load_recipe

from .support import fake_registry, problems_of, where, write_files

BROKEN_RECIPE = """
recipe: broken
owner: nobody
description: Syncs accounts.
tier: experimental
schedule: "every 15 minutes"
notion:
  token: secret_literal_abc123
  rate_limt: 3/s
sources:
  crm:
    connector: salesforce
    config:
      instance_url: ${env:SF_URL}
      session_id: ${env:SF_SESSION}
      api_versoin: "59.0"
    stale_after: soon
targets:
  accounts:
    data_source: d0000000-0000-4000-8000-0000000000d1
    sync_key: Salesforce ID
    mappings: [account.yaml, missing.yaml]
    owners: {Website: notion}
    on_delte: archive
  contacts:
    database: {title: Contacts}
    sync_key: Email
    mappings: [contact.yaml]
"""

ACCOUNT = """
mapping: sf-account
connector: salesforce
stream: Account
sync_key: Salesforce ID
properties:
  Name: {type: title, field: Name}
  Salesforce ID: {type: rich_text, field: Id}
  Website: {type: url, field: Website, transforms: [url]}
"""

CONTACT = """
mapping: sf-contact
connector: salesforce
stream: Contact
properties:
  Name: {type: title, template: "{{ FirstName }"}
  Email: {type: emial, field: Email}
  Phone: {type: phone_number, field: Phone, template: "{{ Phone }}"}
  Account: {type: relation, target: acounts, field: AccountId}
  Title: {type: rich_text, field: Title, transforms: [lower, titlecase]}
  Score: {type: number, field: Score, default: high}
"""


def test_every_mistake_is_reported_with_its_position(tmp_path: Path) -> None:
    write_files(tmp_path, {"recipe.yaml": BROKEN_RECIPE, "account.yaml": ACCOUNT, "contact.yaml": CONTACT})
    problems = problems_of(
        lambda: load_recipe(
            tmp_path / "recipe.yaml", registry=fake_registry(), environ={"SF_URL": "https://x.example.com"}
        )
    )

    assert where(problems) == [
        ("recipe.yaml", 2, 8, "owner"),
        ("recipe.yaml", 3, 14, "description"),
        ("recipe.yaml", 4, 7, "tier"),
        ("recipe.yaml", 5, 11, "schedule"),
        ("recipe.yaml", 7, 10, "notion.token"),
        ("recipe.yaml", 8, 3, "notion.rate_limt"),
        ("recipe.yaml", 14, 19, "sources.crm.config.session_id"),
        ("recipe.yaml", 15, 7, "sources.crm.config.api_versoin"),
        ("recipe.yaml", 16, 18, "sources.crm.stale_after"),
        ("recipe.yaml", 21, 30, "targets.accounts.mappings[1]"),
        ("recipe.yaml", 23, 5, "targets.accounts.on_delte"),
        ("recipe.yaml", 25, 5, "targets.contacts.database.parent_page"),
        ("account.yaml", 8, 3, "properties.Website"),
        ("contact.yaml", 5, 33, "properties.Name.template"),
        ("contact.yaml", 6, 17, "properties.Email.type"),
        ("contact.yaml", 7, 3, "properties.Phone"),
        ("contact.yaml", 8, 37, "properties.Account.target"),
        ("contact.yaml", 9, 62, "properties.Title.transforms[1]"),
        ("contact.yaml", 10, 48, "properties.Score.default"),
    ]
    messages = [p.message for p in problems]
    assert "email address" in messages[0]
    assert "what triggers it" in messages[1] and "at least 3" in messages[1]
    assert "experimental recipe needs expires" in messages[2]
    assert "cron expression" in messages[3]
    assert "write ${env:NAME}" in messages[4] and "instead of the literal token" in messages[4]
    assert messages[5] == "unknown key (did you mean 'rate_limit'?)"
    assert messages[6] == "environment variable SF_SESSION is not set (referenced as ${env:SF_SESSION})"
    assert messages[7] == "unknown key (did you mean 'api_version'?)"
    assert "duration" in messages[8]
    assert "mapping file 'missing.yaml' not found" in messages[9]
    assert messages[10] == "unknown key (did you mean 'on_delete'?)"
    assert messages[11] == "required key is missing"
    assert "owned by people in Notion (" in messages[12]
    assert f"{tmp_path / 'recipe.yaml'}:22 targets.accounts.owners.Website" in messages[12]
    assert messages[13].startswith("template syntax error")
    assert "'title'" in messages[14]
    assert messages[15] == "give exactly one of field, template or value (found field, template)"
    assert "relation target 'acounts' is not a target" in messages[16]
    assert messages[17].startswith("unknown transform 'titlecase'")
    assert messages[18].startswith("not a valid number value")
    # nothing here is secret, but the literal token must not be echoed back
    assert all("secret_literal_abc123" not in str(p) for p in problems)


def test_the_report_prints_file_line_column_and_key_path(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"m.yaml": "mapping: m\nconnector: sf\nstream: A\nproperties:\n  X: {type: numbr, field: X}\n"},
    )
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "m.yaml"))
    assert str(problem).startswith(f"{tmp_path / 'm.yaml'}:5:13 properties.X.type: Input should be 'title'")


def test_yaml_syntax_errors_are_positioned_and_other_files_still_checked(tmp_path: Path) -> None:
    recipe = BROKEN_RECIPE.replace("mappings: [contact.yaml]", "mappings: [contact.yaml]\n  extra: [unclosed")
    write_files(tmp_path, {"recipe.yaml": recipe})
    (problem,) = problems_of(lambda: load_recipe(tmp_path / "recipe.yaml", environ={}))
    assert (problem.line, problem.column) == (29, 1)
    assert problem.message.startswith("YAML syntax error")

    write_files(tmp_path, {"m.yaml": "mapping: m\nconnector: sf\n\tstream: A\n"})
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "m.yaml"))
    assert (problem.line, problem.column) == (3, 1)


def test_every_duplicate_key_is_an_error(tmp_path: Path) -> None:
    text = ACCOUNT + "  Name: {type: rich_text, field: Name}\nstream: Contact\n"
    write_files(tmp_path, {"m.yaml": text})
    problems = problems_of(lambda: load_mapping(tmp_path / "m.yaml"))
    assert where(problems) == [("m.yaml", 9, 3, "properties.Name"), ("m.yaml", 10, 1, "stream")]
    assert problems[0].message.startswith("duplicate key 'Name' (first at line 6, column 3)")


def test_unreadable_mapping_file_and_wrong_root(tmp_path: Path) -> None:
    write_files(tmp_path, {"list.yaml": "- a\n- b\n"})
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "list.yaml"))
    assert (problem.line, problem.column, problem.path) == (1, 1, "")
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "absent.yaml"))
    assert "cannot read the file" in problem.message


def test_custom_yaml_tags_are_refused(tmp_path: Path) -> None:
    write_files(tmp_path, {"m.yaml": ACCOUNT.replace("stream: Account", "stream: !include other.yaml")})
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "m.yaml"))
    assert (problem.line, problem.path) == (3, "stream")
    assert "unknown YAML tag !include" in problem.message


def test_alias_bombs_are_stopped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 12)]
    write_files(tmp_path, {"m.yaml": "\n".join(lines) + "\n"})
    (problem,) = problems_of(lambda: load_mapping(tmp_path / "m.yaml"))
    assert "expands to more than 100000 values" in problem.message
