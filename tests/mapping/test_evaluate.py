"""Evaluating records: field paths, sandboxed templates, transforms, value maps, defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncfw.errors import ConfigError
from syncfw.mapping import CompiledMapping, PropertyError, compile_mapping
from syncfw.mapping.spec import MappingFile, MatchSpec, Position, PropertySpec, TransformCall
from syncfw.mapping.transforms import BUILTIN_TRANSFORMS
from syncfw.recipe import load_recipe

from ..recipe.support import ENV, fake_registry, problems_of, recipe_text, write_files


def compiled(match: MatchSpec | None = None, **properties: dict[str, Any]) -> CompiledMapping:
    """A mapping of ``properties`` (``m.yaml``, the first at line 6), optionally with a match."""
    specs = {
        name: PropertySpec(**spec).named(name, Position(Path("m.yaml"), line=index + 6, column=3))
        for index, (name, spec) in enumerate(properties.items())
    }
    definition = MappingFile.model_construct(
        name="m", connector="src", stream="records", properties=specs, match=match
    )
    mapping = definition.at(Position(Path("m.yaml"))).bind("src", 1, match.type if match else "rich_text")
    return compile_mapping(mapping, BUILTIN_TRANSFORMS)


RECORD = {
    "Id": "001A",
    "Name": "Acme",
    "Owner": {"Name": "Ada Lovelace", "Manager": None},
    "Industry": "technology",
    "AnnualRevenue": 1.5e6,
    "Website": "www.acme.example",
    "Tags": "b;a;b",
}


def test_field_paths_read_nested_objects_and_missing_steps_are_none() -> None:
    mapping = compiled(
        Owner={"type": "rich_text", "field": "Owner.Name"},
        Manager={"type": "rich_text", "field": "Owner.Manager.Name"},
        Missing={"type": "number", "field": "Parent.AnnualRevenue"},
        Revenue={"type": "number", "field": "AnnualRevenue"},
    )
    values, errors = mapping.evaluate(RECORD)
    assert values == {"Owner": "Ada Lovelace", "Manager": None, "Missing": None, "Revenue": 1500000}
    assert errors == []
    assert mapping.fields == ["Owner.Name", "Owner.Manager.Name", "Parent.AnnualRevenue", "AnnualRevenue"]


def test_templates_render_missing_values_empty_and_list_the_fields_they_read() -> None:
    mapping = compiled(
        Name={"type": "title", "template": "{{ FirstName }} {{ LastName }}"},
        Label={
            "type": "rich_text",
            "template": "{{ Owner.Name | upper }} ({{ Owner['Title'] }}) {{ Name.lower() }}",
        },
        Tags={"type": "rich_text", "template": "{% for t in Tags %}{{ t.Label }},{% endfor %}"},
        Empty={"type": "rich_text", "template": "{{ Nothing.Here }}  "},
    )
    values, errors = mapping.evaluate({"LastName": "Lovelace", "Owner": {"Name": "ada"}, "Name": "ACME"})
    assert errors == []
    assert values == {"Name": "Lovelace", "Label": "ADA () acme", "Tags": None, "Empty": None}
    assert mapping.fields == [
        "FirstName",
        "LastName",
        "Owner.Name",
        "Owner.Title",
        "Name",
        "Tags",
        "Nothing.Here",
    ]


def test_templates_are_sandboxed() -> None:
    with pytest.raises(ConfigError) as caught:
        compiled(Name={"type": "title", "template": "{{ ''.__class__.__mro__ }}"})
    (problem,) = caught.value.problems
    assert (problem.file, problem.line, problem.path) == ("m.yaml", 6, "properties.Name")
    assert "attributes starting with '_'" in problem.message

    # a key chosen by the record itself cannot be checked in advance: the sandbox refuses it
    mapping = compiled(
        Name={"type": "title", "template": "{{ Name[Attr] }}"}, Id={"type": "rich_text", "field": "Id"}
    )
    values, errors = mapping.evaluate({"Name": "Acme", "Attr": "__class__", "Id": "001"})
    assert values == {"Id": "001"}
    assert errors == [
        PropertyError("Name", "template refused: access to attribute '__class__' of a str is not allowed")
    ]


def test_order_is_value_transforms_map_default() -> None:
    spec = {
        "type": "select",
        "field": "Industry",
        "transforms": (TransformCall(name="upper"),),
        "map": {"TECHNOLOGY": "Tech", "FINANCE": "Finance"},
        "map_default": "Other",
        "default": "Unknown",
    }
    mapping = compiled(Industry=spec)
    assert mapping.evaluate({"Industry": "technology"})[0] == {"Industry": "Tech"}
    assert mapping.evaluate({"Industry": "mining"})[0] == {"Industry": "Other"}
    assert mapping.evaluate({"Industry": None})[0] == {"Industry": "Unknown"}


def test_unmapped_values_pass_through_and_lists_map_item_by_item() -> None:
    mapping = compiled(
        Stage={"type": "select", "field": "Stage", "map": {1: "Lead", "2": "Customer"}},
        Tags={
            "type": "multi_select",
            "field": "Tags",
            "transforms": (TransformCall(name="split", args=(";",)),),
            "map": {"a": "Alpha"},
        },
    )
    assert mapping.evaluate({"Stage": 1, "Tags": "b;a;b"})[0] == {"Stage": "Lead", "Tags": ("b", "Alpha")}
    assert mapping.evaluate({"Stage": 2, "Tags": None})[0] == {"Stage": "Customer", "Tags": ()}
    assert mapping.evaluate({"Stage": "Churned"})[0]["Stage"] == "Churned"


def test_a_failing_property_is_reported_and_the_others_still_evaluate() -> None:
    mapping = compiled(
        Revenue={"type": "number", "field": "AnnualRevenue"},
        Flag={"type": "checkbox", "field": "Flag"},
        Size={"type": "number", "field": "Size", "transforms": (TransformCall(name="int"),)},
        Name={"type": "title", "field": "Name"},
    )
    values, errors = mapping.evaluate({"AnnualRevenue": True, "Flag": None, "Size": "3.5", "Name": "Acme"})
    assert values == {"Flag": False, "Name": "Acme"}
    assert errors == [
        PropertyError("Revenue", "expected a number, got the boolean True"),
        PropertyError("Size", "transform 'int' failed: '3.5' is not a whole number"),
    ]


def test_relations_evaluate_to_source_keys() -> None:
    mapping = compiled(
        Account={"type": "relation", "target": "accounts", "field": "AccountId"},
        Partners={"type": "relation", "target": "accounts", "field": "PartnerIds"},
    )
    values, _ = mapping.evaluate({"AccountId": "001A", "PartnerIds": ["001B", 7, "001B", None]})
    assert values == {"Account": ("001A",), "Partners": ("001B", "7")}
    assert mapping.evaluate({})[0] == {"Account": (), "Partners": ()}


def test_constants_are_values_too() -> None:
    mapping = compiled(
        Source={"type": "select", "value": "Salesforce"}, Synced={"type": "checkbox", "value": True}
    )
    assert mapping.evaluate({}) == ({"Source": "Salesforce", "Synced": True}, [])
    assert mapping.fields == []


def test_compile_refuses_unknown_transforms_at_their_property() -> None:
    with pytest.raises(ConfigError) as caught:
        compiled(Name={"type": "title", "field": "Name", "transforms": (TransformCall(name="titlecase"),)})
    assert str(caught.value) == "m.yaml:6:3 properties.Name: unknown transform 'titlecase'"


def test_transforms_from_a_plugin_registry_are_checked_and_used(tmp_path: Path) -> None:
    def initials(value: Any, sep: str = "") -> Any:
        return None if value is None else sep.join(word[0] for word in str(value).split())

    mapping = """
    mapping: m
    connector: salesforce
    stream: Account
    sync_key: Salesforce ID
    properties:
      Salesforce ID: {type: rich_text, field: Id}
      Name: {type: title, field: Name, transforms: [{initials: "."}]}
      Owner: {type: rich_text, field: Owner.Name, transforms: [{initials: [".", "extra"]}]}
    """
    targets = """
    accounts:
      data_source: 0d5d5d5d5d5d4d5d8d5d5d5d5d5d5d5d
      sync_key: Salesforce ID
      mappings: [m.yaml]
    """
    write_files(tmp_path, {"recipe.yaml": recipe_text(targets), "m.yaml": mapping})
    registry = fake_registry(initials=initials)

    (problem,) = problems_of(lambda: load_recipe(tmp_path / "recipe.yaml", registry=registry, environ=ENV))
    assert (problem.line, problem.path) == (8, "properties.Owner.transforms[0]")
    assert "wrong arguments for transform 'initials'" in problem.message

    (tmp_path / "m.yaml").write_text((tmp_path / "m.yaml").read_text().replace('[".", "extra"]', '"-"'))
    recipe = load_recipe(tmp_path / "recipe.yaml", registry=registry, environ=ENV)
    evaluate = compile_mapping(recipe.targets["accounts"].mappings[0], registry.transforms).evaluate
    assert evaluate({"Id": "1", "Name": "Acme Widget Co", "Owner": {"Name": "Ada Lovelace"}}) == (
        {"Salesforce ID": "1", "Name": "A.W.C", "Owner": "A-L"},
        [],
    )
