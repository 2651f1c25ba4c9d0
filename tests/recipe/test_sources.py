"""Several sources into one target: one primary mapping creates pages, the others match them."""

from __future__ import annotations

from pathlib import Path

from syncfw.recipe import Aggregate, ExplainRow, explain, load_mapping, load_recipe, mapping_json_schema

from .support import (
    ENV,
    PRIMARY_ACCOUNT_MAPPING,
    fake_registry,
    multi_source_files,
    problems_of,
    where,
    write_files,
)
from .test_load import SHIPPED, SHIPPED_ENV


def test_a_target_fed_by_several_sources_loads_with_one_primary_mapping(tmp_path: Path) -> None:
    write_files(tmp_path, multi_source_files())
    recipe = load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV)

    accounts = recipe.targets["accounts"]
    assert accounts.primary_mapping.name == "sf-account" and accounts.primary_mapping.is_primary
    hubspot, zendesk, opportunities = accounts.secondary_mappings
    assert [m.source for m in (hubspot, zendesk, opportunities)] == ["hubspot", "zendesk", "salesforce"]
    assert hubspot.match is not None and zendesk.match is not None and opportunities.match is not None
    # the match takes the type of the property it compares with, written by the primary mapping
    assert (hubspot.match.property, hubspot.match.type, hubspot.match.field) == (
        "Domain",
        "rich_text",
        "properties.domain",
    )
    assert [call.name for call in hubspot.match.transforms] == ["domain"]
    assert (hubspot.match.line, hubspot.match.column) == (4, 1)
    # matching on the sync key: the page is found through the identity map
    assert (opportunities.match.property, opportunities.match.type) == ("Salesforce ID", "rich_text")
    assert not hubspot.is_aggregate and zendesk.is_aggregate
    assert zendesk.properties["Open Tickets"].aggregate == Aggregate(
        function="count", where="status in ['new', 'open', 'pending']"
    )
    assert zendesk.properties["Last Subject"].aggregate == Aggregate(
        function="latest", field="subject", by="updated_at"
    )
    assert opportunities.properties["Pipeline"].default == 0
    assert accounts.owner_lines == {"Notes": 15, "Lifecycle Stage": 15}


def test_each_mapping_must_have_its_role_in_the_target(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [account.yaml, hubspot.yaml, owner.yaml, org.yaml, users.yaml, parent.yaml]
    """
    files = multi_source_files(
        targets,
        **{
            "account.yaml": PRIMARY_ACCOUNT_MAPPING
            + "      Parent: {type: relation, target: accounts, field: ParentId}\n",
            # no match and no sync key: it cannot create pages, so it must match them
            "owner.yaml": """
            mapping: hubspot-owner
            connector: hubspot
            stream: owners
            properties:
              HubSpot Owner: {type: rich_text, field: email}
            """,
            # a secondary mapping writing the sync key would fight the primary one over it
            "org.yaml": """
            mapping: zendesk-org
            connector: zendesk
            stream: organizations
            match: {property: Domain, field: domain}
            properties:
              Salesforce ID: {type: rich_text, field: external_id}
            """,
            # the match property must be one the target's other mappings fill
            "users.yaml": """
            mapping: zendesk-users
            connector: zendesk
            stream: users
            match: {property: Website Domain, field: email, transforms: [domain]}
            properties:
              Zendesk Users: {type: number, aggregate: {function: count}}
            """,
            "parent.yaml": """
            mapping: hubspot-parent
            connector: hubspot
            stream: parents
            match: {property: Parent, field: id}
            properties:
              Parent Stage: {type: select, field: stage}
            """,
        },
    )
    write_files(tmp_path, files)
    problems = problems_of(
        lambda: load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV)
    )

    assert where(problems) == [
        ("recipe.yaml", 14, 44, "targets.accounts.mappings[2]"),
        ("org.yaml", 6, 3, "properties.Salesforce ID"),
        ("users.yaml", 4, 19, "match.property"),
        ("parent.yaml", 4, 19, "match.property"),
    ]
    messages = [p.message for p in problems]
    assert messages[0].startswith(f"{tmp_path / 'owner.yaml'} does not write the sync key 'Salesforce ID'")
    assert "add a match to it" in messages[0]
    assert "must not write the sync key 'Salesforce ID'" in messages[1]
    assert messages[2] == (
        "match property 'Website Domain' is neither the sync key nor written by another mapping of "
        "target 'accounts'; match on one of: Salesforce ID, Domain, HubSpot Owner, Lifecycle Stage, "
        "Name, Parent, Parent Stage, Website"
    )
    assert messages[3] == "'Parent' is a relation; match on a property holding one value instead"


def test_mistakes_in_aggregates_are_reported_at_their_keys(tmp_path: Path) -> None:
    stats = """
    mapping: stats
    connector: zendesk
    stream: tickets
    match: {property: Domain, field: org.domain, template: "{{ org.domain }}"}
    properties:
      A: {type: number, field: x, aggregate: {function: count}}
      B: {type: number, aggregate: {function: count}, map: {1: 2}}
      C: {type: number, aggregate: {function: count}, transforms: [int]}
      D: {type: number, aggregate: {function: sum}}
      E: {type: date, aggregate: {function: latest, field: x}}
      F: {type: date, aggregate: {function: max, field: x, by: y}}
      G: {type: number, aggregate: {function: count, field: x}}
      H: {type: number, aggregate: {function: count, where: "status in ["}}
      I: {type: number, aggregate: {function: count, where: "status.__class__"}}
      J: {type: select, aggregate: {function: count}}
      K: {type: rich_text, aggregate: {function: max, field: x}}
      L: {type: relation, target: accounts, aggregate: {function: latest, field: x, by: y}}
      M: {type: number, aggregate: {function: sum, field: "a..b"}}
      N: {type: number, aggregate: {function: sum, field: amount}, transforms: [nope]}
      O: {type: date, aggregate: {function: min, field: x}}
    """
    write_files(tmp_path, {"stats.yaml": stats})
    problems = problems_of(lambda: load_mapping(tmp_path / "stats.yaml", registry=fake_registry()))

    assert [(line, column, path) for _, line, column, path in where(problems)] == [
        (4, 1, "match"),
        (6, 3, "properties.A"),
        (7, 3, "properties.B"),
        (8, 3, "properties.C"),
        (9, 21, "properties.D.aggregate"),
        (10, 19, "properties.E.aggregate"),
        (11, 19, "properties.F.aggregate"),
        (12, 21, "properties.G.aggregate"),
        (13, 57, "properties.H.aggregate.where"),
        (14, 57, "properties.I.aggregate.where"),
        (15, 43, "properties.J.aggregate.function"),
        (16, 46, "properties.K.aggregate.function"),
        (17, 63, "properties.L.aggregate.function"),
        (18, 55, "properties.M.aggregate.field"),
        (19, 77, "properties.N.transforms[0]"),
    ]
    assert [p.message for p in problems] == [
        "give exactly one of field or template (found field, template)",
        "aggregate replaces field, template and value (found field)",
        "map is not used with aggregate",
        "transforms apply to the aggregate's field, and count has none",
        "sum needs field: the record field it combines",
        "latest needs by: the field whose greatest value picks the record, e.g. updated_at",
        "by is only for latest, not max",
        "count counts records and takes no field (filter them with where)",
        "expression syntax error: unexpected 'end of template'",
        "expressions may not use attributes starting with '_' (__class__)",
        "count gives a number, so the property cannot be a select",
        "max gives a number or date, so the property cannot be a rich_text",
        "an aggregate cannot fill a relation (relations link the pages of record keys)",
        "a field path is names separated by dots, e.g. Owner.Name",
        problems[14].message,
    ]
    assert problems[14].message.startswith("unknown transform 'nope'")


def test_a_mapping_is_all_aggregates_and_matches_or_has_none(tmp_path: Path) -> None:
    mixed = """
    # aggregates without match, next to a per-record property
    mapping: mixed
    connector: zendesk
    stream: tickets
    properties:
      Tickets: {type: number, aggregate: {function: count}}
      Subject: {type: rich_text, field: subject}
    """
    both = """
    mapping: both
    connector: hubspot
    stream: companies
    sync_key: Name
    match:
      property: Domain
      template: "{{ properties.domain "
      transforms: [domian]
    properties:
      Name: {type: title, field: properties.name}
    """
    write_files(tmp_path, {"mixed.yaml": mixed, "both.yaml": both})

    problems = problems_of(lambda: load_mapping(tmp_path / "mixed.yaml"))
    assert where(problems) == [("mixed.yaml", 2, 1, "match"), ("mixed.yaml", 7, 3, "properties.Subject")]
    assert problems[0].message.startswith("aggregates combine the records that match a page, so this mapping")
    assert problems[1].message == (
        "the other properties of this mapping are aggregates (Tickets); a mapping is all aggregates "
        "or none: move 'Subject' to a mapping of its own"
    )

    problems = problems_of(lambda: load_mapping(tmp_path / "both.yaml", registry=fake_registry()))
    assert where(problems) == [
        ("both.yaml", 4, 11, "sync_key"),
        ("both.yaml", 7, 13, "match.template"),
        ("both.yaml", 8, 16, "match.transforms[0]"),
    ]
    assert "has no sync_key: remove sync_key, or remove match" in problems[0].message
    assert problems[1].message.startswith("template syntax error")
    assert "did you mean 'domain'?" in problems[2].message


def test_explain_lists_owner_and_origin_of_every_property_of_the_shipped_recipe() -> None:
    rows = explain(load_recipe(SHIPPED, environ=SHIPPED_ENV))
    mappings = SHIPPED.parents[1] / "mappings" / "salesforce"

    accounts = [row for row in rows if row.target == "accounts"]
    assert accounts[0] == ExplainRow(
        "accounts",
        "Salesforce ID",
        "rich_text",
        "salesforce",
        "sync key: field Id",
        f"{mappings}/account.yaml:8",
    )
    assert [(row.property, row.owner, row.origin) for row in accounts[1:]] == [
        ("Name", "salesforce", "field Name"),
        ("Industry", "salesforce", "field Industry"),
        ("Annual Revenue", "salesforce", "field AnnualRevenue"),
        ("Website", "salesforce", "field Website | url"),
        ("Domain", "salesforce", "field Website | domain"),
        ("Account Owner", "salesforce", "field Owner.Name"),
        ("Description", "salesforce", "field Description"),
        ("Notes", "notion", "edited by people in Notion"),
    ]
    assert accounts[-1].where == f"{SHIPPED}:24" and accounts[-1].type is None
    contacts = {row.property: row for row in rows if row.target == "contacts"}
    assert contacts["Salesforce ID"].origin == "sync key: field Id"
    assert contacts["Name"].origin == 'template "{{ FirstName }} {{ LastName }}"'
    assert contacts["Account"].origin == "relation → accounts by AccountId"
    assert contacts["Account"].where == f"{mappings}/contact.yaml:13"


def test_explain_shows_how_secondary_sources_find_and_fill_pages(tmp_path: Path) -> None:
    write_files(tmp_path, multi_source_files())
    rows = explain(load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV))

    assert [(row.property, row.owner, row.origin, Path(row.where).name) for row in rows] == [
        ("Salesforce ID", "salesforce", "sync key: field Id", "account.yaml:7"),
        ("Name", "salesforce", "field Name", "account.yaml:6"),
        ("Website", "salesforce", "field Website | url", "account.yaml:8"),
        ("Domain", "salesforce", "field Website | domain", "account.yaml:9"),
        ("Domain", "hubspot", "match key: properties.domain | domain", "hubspot.yaml:4"),
        ("Lifecycle Stage", "hubspot", "field properties.lifecyclestage", "hubspot.yaml:9"),
        ("Domain", "zendesk", "match key: organization.domain | domain", "zendesk.yaml:4"),
        (
            "Open Tickets",
            "zendesk",
            "count of tickets where status in ['new', 'open', 'pending']",
            "zendesk.yaml:6",
        ),
        ("Last Ticket", "zendesk", "max of updated_at over tickets", "zendesk.yaml:7"),
        ("Last Subject", "zendesk", "latest of subject by updated_at over tickets", "zendesk.yaml:8"),
        ("Salesforce ID", "salesforce", "match key: AccountId (identity map)", "opportunity.yaml:4"),
        (
            "Pipeline",
            "salesforce",
            "sum of Amount over Opportunity where not IsClosed (default 0)",
            "opportunity.yaml:6",
        ),
        ("Notes", "notion", "edited by people in Notion", "recipe.yaml:15"),
    ]


def test_the_mapping_json_schema_describes_match_and_aggregates() -> None:
    schema = mapping_json_schema()
    match = schema["$defs"]["MatchSpec"]
    assert {"property", "via", "field", "template", "transforms"} <= set(match["properties"])
    assert match["oneOf"] == [{"required": ["property"]}, {"required": ["via"]}]
    assert "via" in schema["$defs"]["PropertySpec"]["properties"]
    assert "match" in schema["properties"]
    aggregate = schema["$defs"]["Aggregate"]["properties"]
    assert set(aggregate["function"]["enum"]) == {"count", "sum", "min", "max", "latest"}


def test_a_target_needs_a_mapping_that_creates_its_pages(tmp_path: Path) -> None:
    targets = """
    accounts:
      data_source: a0000000-0000-4000-8000-0000000000a1
      sync_key: Salesforce ID
      mappings: [hubspot.yaml, zendesk.yaml]
    """
    write_files(tmp_path, multi_source_files(targets))
    problems = problems_of(
        lambda: load_recipe(tmp_path / "recipe.yaml", registry=fake_registry(), environ=ENV)
    )
    assert where(problems) == [
        ("recipe.yaml", 13, 15, "targets.accounts.sync_key"),
        ("recipe.yaml", 14, 5, "targets.accounts.mappings"),
        ("hubspot.yaml", 5, 13, "match.property"),
        ("zendesk.yaml", 4, 19, "match.property"),
    ]
    assert problems[1].message == (
        "every mapping of target 'accounts' has a match, so none creates its pages: "
        "one mapping must have no match and write the sync key 'Salesforce ID'"
    )
    assert problems[2].message.endswith(
        "match on one of: Salesforce ID, Last Subject, Last Ticket, Open Tickets"
    )
