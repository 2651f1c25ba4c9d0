"""Matching and relating through the identity map: ``match: {via: …}`` and relations ``via``."""

from __future__ import annotations

from pathlib import Path

from syncfw.recipe import ExplainRow, MatchSpec, Position, explain, load_mapping, load_recipe

from .support import (
    ENV,
    PRIMARY_ACCOUNT_MAPPING,
    fake_registry,
    problems_of,
    recipe_text,
    where,
    write_files,
)

SOURCES = """
salesforce: {connector: salesforce, config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}}
zendesk: {connector: zendesk, config: {token: "${env:ZENDESK_TOKEN}"}}
"""

# recipe.yaml: accounts at line 10 (mappings: line 13), tickets at line 14 (mappings: line 17)
TARGETS = """
accounts:
  data_source: a0000000-0000-4000-8000-0000000000a1
  sync_key: Salesforce ID
  mappings: [account.yaml, organization.yaml, ticket-stats.yaml]
tickets:
  data_source: 70000000-0000-4000-8000-000000000071
  sync_key: Ticket ID
  mappings: [ticket.yaml]
"""

ORGANIZATION = """
mapping: zendesk-organization
connector: zendesk
stream: organizations
match: {property: Domain, field: domain_names, transforms: [domain]}
properties:
  Zendesk Organization: {type: rich_text, field: name}
"""

TICKET_STATS = """
mapping: zendesk-ticket-stats
connector: zendesk
stream: tickets
match: {via: zendesk-organization, field: organization_id}
properties:
  Open Tickets: {type: number, aggregate: {function: count, where: "status in ['new', 'open', 'pending']"}}
"""

TICKET = """
mapping: zendesk-ticket
connector: zendesk
stream: tickets
sync_key: Ticket ID
properties:
  Subject: {type: title, field: subject}
  Ticket ID: {type: rich_text, field: id}
  Account: {type: relation, target: accounts, field: organization_id, via: zendesk-organization}
"""

FILES = {
    "account.yaml": PRIMARY_ACCOUNT_MAPPING,
    "organization.yaml": ORGANIZATION,
    "ticket-stats.yaml": TICKET_STATS,
    "ticket.yaml": TICKET,
}


def write(tmp_path: Path, targets: str = TARGETS, **files: str) -> Path:
    write_files(tmp_path, {"recipe.yaml": recipe_text(targets, sources=SOURCES), **FILES, **files})
    return tmp_path / "recipe.yaml"


def test_a_recipe_matching_and_relating_via_a_mapping_loads(tmp_path: Path) -> None:
    recipe = load_recipe(write(tmp_path), registry=fake_registry(), environ=ENV)

    accounts = recipe.targets["accounts"]
    organization, stats = accounts.secondary_mappings
    assert stats.match == MatchSpec(via="zendesk-organization", field="organization_id").at(
        Position(tmp_path / "ticket-stats.yaml", line=4, column=1)
    )
    assert stats.match.type == "rich_text"
    assert stats.match.property is None and stats.match.label == "via zendesk-organization"
    assert stats.is_aggregate
    assert organization.match is not None and organization.match.via is None
    assert organization.match.label == "Domain"

    account = recipe.targets["tickets"].mappings[0].properties["Account"]
    assert (account.target, account.via, account.field) == (
        "accounts",
        "zendesk-organization",
        "organization_id",
    )
    assert recipe.targets["tickets"].mappings[0].properties["Subject"].via is None
    # the relation still makes tickets come after accounts
    assert [t.name for t in recipe.targets_in_order()] == ["accounts", "tickets"]


def test_explain_shows_matches_and_relations_via_a_mapping(tmp_path: Path) -> None:
    rows = explain(load_recipe(write(tmp_path), registry=fake_registry(), environ=ENV))

    via = [row for row in rows if "via" in row.origin]
    assert via == [
        ExplainRow(
            "accounts",
            "Salesforce ID",
            "rich_text",
            "zendesk",
            "match via zendesk-organization: organization_id",
            f"{tmp_path / 'ticket-stats.yaml'}:4",
        ),
        ExplainRow(
            "tickets",
            "Account",
            "relation",
            "zendesk",
            "relation → accounts by organization_id via zendesk-organization",
            f"{tmp_path / 'ticket.yaml'}:8",
        ),
    ]


def test_match_needs_exactly_one_of_property_and_via(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "both.yaml": TICKET_STATS.replace("{via:", "{property: Domain, via:"),
            "neither.yaml": TICKET_STATS.replace("via: zendesk-organization, ", ""),
            "itself.yaml": TICKET_STATS.replace("via: zendesk-organization", "via: zendesk-ticket-stats"),
            "not-relation.yaml": TICKET.replace(
                "Subject: {type: title,", "Subject: {type: title, via: zendesk-organization,"
            ),
        },
    )
    problems = problems_of(lambda: load_mapping(tmp_path / "both.yaml"))
    assert where(problems) == [("both.yaml", 4, 1, "match")]
    assert problems[0].message == (
        "give exactly one of property (a property of the target's pages) or via (a mapping of the "
        "target whose records' matches it follows) (found property, via)"
    )
    problems = problems_of(lambda: load_mapping(tmp_path / "neither.yaml"))
    assert where(problems) == [("neither.yaml", 4, 1, "match")]
    assert (
        problems[0].message.startswith("give exactly one of property") and "found" not in problems[0].message
    )

    problems = problems_of(lambda: load_mapping(tmp_path / "itself.yaml"))
    assert where(problems) == [("itself.yaml", 4, 14, "match.via")]
    assert problems[0].message.startswith("a mapping cannot match via itself")

    problems = problems_of(lambda: load_mapping(tmp_path / "not-relation.yaml"))
    assert where(problems) == [("not-relation.yaml", 6, 31, "properties.Subject.via")]
    assert problems[0].message.startswith("via is only for relation properties")


def test_an_invalid_match_does_not_make_the_mapping_look_like_it_creates_pages(tmp_path: Path) -> None:
    path = write(tmp_path, **{"ticket-stats.yaml": TICKET_STATS.replace("{via:", "{property: Domain, via:")})
    problems = problems_of(lambda: load_recipe(path, registry=fake_registry(), environ=ENV))
    assert where(problems) == [("ticket-stats.yaml", 4, 1, "match")]


def test_via_must_name_a_mapping_that_matches_pages_of_the_right_target(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml, organization.yaml, ticket-stats.yaml, a.yaml, b.yaml, c.yaml, d.yaml]
    tickets:
      data_source: 70000000-0000-4000-8000-000000000071
      sync_key: Ticket ID
      mappings: [ticket.yaml]
    """

    def stats(name: str, via: str) -> str:
        text = TICKET_STATS.replace("zendesk-ticket-stats", name).replace("zendesk-organization", via)
        return text.replace("Open Tickets", f"Open Tickets {name}")

    ticket = TICKET + (
        "  Creator: {type: relation, target: accounts, field: a, via: zendesk-organizations}\n"
        "  Author: {type: relation, target: tickets, field: b, via: zendesk-organization}\n"
        "  Agent: {type: relation, target: accounts, field: c, via: sf-account}\n"
        "  Group: {type: relation, target: accounts, field: d, via: zendesk-ticket-stats}\n"
        "  Brand: {type: relation, target: acounts, field: e, via: zendesk-organization}\n"
    )
    path = write(
        tmp_path,
        targets,
        **{
            "ticket.yaml": ticket,
            "a.yaml": stats("a", "zendesk-org"),  # no such mapping
            "b.yaml": stats("b", "zendesk-ticket"),  # a mapping of another target
            "c.yaml": stats("c", "sf-account"),  # the primary mapping: that is the sync key
            "d.yaml": stats("d", "zendesk-ticket-stats"),  # aggregates keep no match per record
        },
    )
    problems = problems_of(lambda: load_recipe(path, registry=fake_registry(), environ=ENV))

    assert where(problems) == [
        ("ticket.yaml", 9, 62, "properties.Creator.via"),
        ("ticket.yaml", 10, 60, "properties.Author.via"),
        ("ticket.yaml", 11, 60, "properties.Agent.via"),
        ("ticket.yaml", 12, 60, "properties.Group.via"),
        ("ticket.yaml", 13, 35, "properties.Brand.target"),
        ("a.yaml", 4, 14, "match.via"),
        ("b.yaml", 4, 14, "match.via"),
        ("c.yaml", 4, 14, "match.via"),
        ("d.yaml", 4, 14, "match.via"),
    ]
    messages = [p.message for p in problems]
    assert messages[0] == (
        "relation via 'zendesk-organizations': target 'accounts' has no mapping named "
        "'zendesk-organizations'; via names (by its mapping: name) a mapping that matches each of "
        "its records to a page of 'accounts': zendesk-organization"
    )
    assert messages[1] == (
        "relation via 'zendesk-organization': target 'tickets' has no mapping named "
        "'zendesk-organization' ('zendesk-organization' is a mapping of target 'accounts'); via names "
        "(by its mapping: name) a mapping that matches each of its records to a page of 'tickets' "
        "(target 'tickets' has none)"
    )
    assert messages[2] == (
        "relation via 'sf-account': 'sf-account' creates the pages of target 'accounts', so its record "
        "keys are the sync key; drop via to link by the sync keys of 'accounts'"
    )
    assert messages[3].startswith(
        "relation via 'zendesk-ticket-stats': 'zendesk-ticket-stats' aggregates its records into pages "
        "and keeps no match per record"
    )
    assert messages[5].startswith("match via 'zendesk-org': target 'accounts' has no mapping named")
    assert "('zendesk-ticket' is a mapping of target 'tickets')" in messages[6]
    assert messages[7].endswith(
        "so its record keys are the sync key; match on the sync key instead: "
        "match: {property: <sync key>, field: ...}"
    )
    assert "aggregates its records into pages" in messages[8]


def test_a_mapping_matching_via_another_must_be_listed_after_it(tmp_path: Path) -> None:
    targets = TARGETS.replace(
        "[account.yaml, organization.yaml, ticket-stats.yaml]",
        "[account.yaml, ticket-stats.yaml, organization.yaml]",
    )
    problems = problems_of(
        lambda: load_recipe(write(tmp_path, targets), registry=fake_registry(), environ=ENV)
    )

    assert where(problems) == [("recipe.yaml", 13, 30, "targets.accounts.mappings[1]")]
    assert problems[0].message == (
        "ticket-stats.yaml matches via 'zendesk-organization' (organization.yaml), which is listed "
        "after it; the mappings of a target are processed in list order, so move organization.yaml "
        "before ticket-stats.yaml in targets.accounts.mappings"
    )


def test_via_to_a_mapping_that_could_not_be_read_is_not_guessed_at(tmp_path: Path) -> None:
    targets = TARGETS.replace("organization.yaml", "missing.yaml")
    problems = problems_of(
        lambda: load_recipe(write(tmp_path, targets), registry=fake_registry(), environ=ENV)
    )
    # only the missing file: whether it is named zendesk-organization cannot be known
    assert where(problems) == [("recipe.yaml", 13, 30, "targets.accounts.mappings[1]")]
    assert problems[0].message.startswith("mapping file 'missing.yaml' not found")
