"""What editors and people read about recipe files: JSON Schemas and connector specs.

:func:`recipe_schema` and :func:`mapping_schema` are the JSON Schemas (draft 2020-12, each with an
``$id``) that ``syncfw schema`` prints for editors: a first line ``# yaml-language-server:
$schema=...`` in a recipe makes VS Code's YAML extension (and any editor running the
yaml-language-server) validate and complete it. The recipe schema includes each installed
connector's ``config`` block: a source whose ``connector:`` names it must match its
``config_model``. :func:`connector_spec` is what ``syncfw connector spec NAME`` and ``syncfw
plugins --json`` show of one connector: its options (from ``config_model``, described by the
model docstring's ``Attributes:`` section) and its :attr:`~syncfw.connector.Connector.streams`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import docstring_parser

from syncfw import __version__
from syncfw.connector import Connector
from syncfw.recipe.model import mapping_json_schema, recipe_json_schema

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect pydantic writes (``model_json_schema``)."""
SCHEMA_ID = "urn:syncfw:schema:{kind}:" + __version__
"""The ``$id`` of each schema: a name, not a download address (``kind``: recipe, mapping, or
``connector:NAME``), with the syncfw version that wrote it."""


def _described(schema: dict[str, Any], model: type[Any]) -> dict[str, Any]:
    """``schema`` with each property that has no ``description`` described by the model docstring's
    ``Attributes:`` entry of the same name (whitespace folded)."""
    attributes = {
        param.arg_name: _plain(param.description or "")
        for param in docstring_parser.parse(model.__doc__ or "").params
        if param.args and param.args[0] == "attribute"
    }
    for name, prop in schema.get("properties", {}).items():
        if "description" not in prop and attributes.get(name):
            prop["description"] = attributes[name]
    return schema


def _plain(docstring_text: str) -> str:
    """Docstring text as a sentence for people: whitespace folded, reST roles and literals
    (``:data:`syncfw.RecipePath```, ````x````) as plain `x`."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", " ".join(docstring_text.split()))
    return text.replace("``", "`")


def config_schema(connector: type[Connector]) -> dict[str, Any]:
    """The JSON Schema of ``connector``'s ``config`` block, options described (see module)."""
    model = connector.config_model
    return _described(model.model_json_schema(), model)


def connector_spec(connector: type[Connector]) -> dict[str, Any]:
    """What a recipe can write for ``connector``.

    Returns:
        ``{"name", "maturity", "streams": {name: what it reads}, "options": [{"name", "type",
        "required", "default", "secret", "description"}], "config_schema": {...}}``; ``type`` is
        the JSON Schema type (``"string"``, ``"integer | null"``), ``default`` is omitted when
        the option is required, ``secret`` is True for a ``SecretStr`` (give it as
        ``${env:NAME}`` or ``${file:PATH}``).
    """
    schema = config_schema(connector)
    required = set(schema.get("required", ()))
    options = []
    for name, prop in schema.get("properties", {}).items():
        option: dict[str, Any] = {
            "name": name,
            "type": _type_of(prop),
            "required": name in required,
            "secret": _is_secret(prop),
            "description": prop.get("description", ""),
        }
        if "default" in prop:
            option["default"] = prop["default"]
        options.append(option)
    return {
        "name": connector.name,
        "maturity": connector.maturity,
        "streams": dict(connector.streams),
        "options": options,
        "config_schema": schema,
    }


def _variants(prop: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(prop.get("anyOf", [prop]))


def _type_of(prop: Mapping[str, Any]) -> str:
    names = []
    for variant in _variants(prop):
        name = variant.get("type") or ("enum" if "enum" in variant else "object")
        if "enum" in variant:
            name = " | ".join(repr(v) for v in variant["enum"])
        elif "const" in variant:
            name = repr(variant["const"])
        if name not in names:
            names.append(name)
    return " | ".join(str(n) for n in names)


def _is_secret(prop: Mapping[str, Any]) -> bool:
    return any(v.get("format") == "password" for v in _variants(prop))


def recipe_schema(connectors: Mapping[str, type[Connector]]) -> dict[str, Any]:
    """The JSON Schema of recipe files, with the ``config`` block of each connector in
    ``connectors`` (by name): ``sources.<name>.config`` must match the ``config_model`` of the
    connector its ``connector:`` names; another connector's config stays a free mapping."""
    schema = {"$schema": JSON_SCHEMA_DIALECT, "$id": SCHEMA_ID.format(kind="recipe"), **recipe_json_schema()}
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    conditions = []
    for name in sorted(connectors):
        config = config_schema(connectors[name])
        prefix = f"connector.{name}."
        for def_name, definition in config.pop("$defs", {}).items():
            defs[prefix + def_name] = _rename_refs(definition, prefix)
        defs[f"{prefix}config"] = {
            **_rename_refs(config, prefix),
            "$comment": SCHEMA_ID.format(kind=f"connector:{name}"),
        }
        conditions.append(
            {
                "if": {"properties": {"connector": {"const": name}}, "required": ["connector"]},
                "then": {"properties": {"config": {"$ref": f"#/$defs/{prefix}config"}}},
            }
        )
    if conditions:
        defs["Source"] = {**defs["Source"], "allOf": conditions}
    return schema


def _rename_refs(node: Any, prefix: str) -> Any:
    """``node`` with every local ``$ref`` (``#/$defs/X``) pointing at ``#/$defs/<prefix>X``."""
    if isinstance(node, dict):
        return {
            key: (
                value.replace("#/$defs/", f"#/$defs/{prefix}")
                if key == "$ref" and isinstance(value, str)
                else _rename_refs(value, prefix)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, prefix) for item in node]
    return node


def mapping_schema() -> dict[str, Any]:
    """The JSON Schema of mapping files."""
    return {"$schema": JSON_SCHEMA_DIALECT, "$id": SCHEMA_ID.format(kind="mapping"), **mapping_json_schema()}
