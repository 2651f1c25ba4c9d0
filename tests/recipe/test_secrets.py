"""Secrets come only from references and never show up in errors or reprs."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.recipe import load_recipe

from .support import (
    ACCOUNT_MAPPING,
    CONTACT_MAPPING,
    ENV,
    fake_registry,
    problems_of,
    recipe_text,
    write_files,
)


def _write(tmp_path: Path, recipe: str) -> Path:
    write_files(
        tmp_path, {"recipe.yaml": recipe, "account.yaml": ACCOUNT_MAPPING, "contact.yaml": CONTACT_MAPPING}
    )
    return tmp_path / "recipe.yaml"


def test_loaded_secrets_stay_out_of_reprs(tmp_path: Path) -> None:
    head = """
    recipe: test
    owner: ada@example.com
    description: Test recipe. Runs by hand in tests. If it fails, a test fails.
    tier: production
    notion: {token: "${env:NOTION_TOKEN}"}
    alerts: ["${env:HOOK}"]
    """
    env = {**ENV, "HOOK": "https://hooks.example.com/T0/B0/HOOKSECRET"}
    for registry in (None, fake_registry()):
        recipe = load_recipe(_write(tmp_path, recipe_text(head=head)), registry=registry, environ=env)
        shown = repr(recipe) + str(recipe) + repr(recipe.sources) + repr(recipe.alerts)
        for secret in ("TOKENVALUE", "SESSIONVALUE", "HOOKSECRET"):
            assert secret not in shown
        assert recipe.alerts[0].url.get_secret_value() == env["HOOK"]


@pytest.mark.parametrize(
    ("head", "secret", "position", "path"),
    [
        ("notion: {token: ntn_literal_TOKEN_123}", "ntn_literal_TOKEN_123", (5, 17), "notion.token"),
        (
            'notion: {token: "${env:NOTION_TOKEN}"}\nalerts: [https://hooks.example.com/T0/XOXB]',
            "https://hooks.example.com/T0/XOXB",
            (6, 10),
            "alerts[0]",
        ),
    ],
)
def test_literal_secrets_are_refused_without_being_repeated(
    tmp_path: Path, head: str, secret: str, position: tuple[int, int], path: str
) -> None:
    head = (
        "recipe: test\nowner: ada@example.com\ndescription: Test. Runs by hand in tests. If it fails, a test fails.\ntier: production\n"
        + head
    )
    (problem,) = problems_of(lambda: load_recipe(_write(tmp_path, recipe_text(head=head)), environ=ENV))
    assert ((problem.line, problem.column), problem.path) == (position, path)
    assert "write ${env:NAME}" in problem.message and "instead of the literal token" in problem.message
    assert secret not in str(problem)


def test_a_connector_secret_must_be_a_reference(tmp_path: Path) -> None:
    sources = """
    salesforce:
      connector: salesforce
      config: {instance_url: "${env:SF_URL}", session_id: 00Dx0000LITERALSESSION}
    """
    recipe = _write(tmp_path, recipe_text(sources=sources))
    (problem,) = problems_of(lambda: load_recipe(recipe, registry=fake_registry(), environ=ENV))
    assert (problem.line, problem.path) == (9, "sources.salesforce.config.session_id")
    assert "LITERALSESSION" not in str(problem)


def test_secret_values_are_redacted_from_every_message(tmp_path: Path) -> None:
    # a secret put in the wrong field is echoed by the connector's validator: it must not leak
    sources = """
    salesforce:
      connector: salesforce
      config: {instance_url: "${env:SF_SESSION}", session_id: "${env:SF_SESSION}"}
    """
    recipe = _write(tmp_path, recipe_text(sources=sources))
    (problem,) = problems_of(lambda: load_recipe(recipe, registry=fake_registry(), environ=ENV))
    assert problem.path == "sources.salesforce.config.instance_url"
    assert "must start with https://, got ***" in problem.message
    assert ENV["SF_SESSION"] not in str(problem)


def test_unset_variables_and_bad_references_are_named_at_their_position(tmp_path: Path) -> None:
    head = """
    recipe: test
    owner: ada@example.com
    description: Test recipe. Runs by hand in tests. If it fails, a test fails.
    tier: production
    notion: {token: "${env:MISSING_TOKEN}", rate_limit: "${env:RATE:-3}"}
    alerts: ["${file:no-such-file}", "${vault:x}"]
    """
    problems = problems_of(lambda: load_recipe(_write(tmp_path, recipe_text(head=head)), environ=ENV))
    assert [(p.line, p.column, p.path) for p in problems] == [
        (5, 17, "notion.token"),
        (6, 10, "alerts[0]"),
        (6, 34, "alerts[1]"),
    ]
    assert (
        problems[0].message
        == "environment variable MISSING_TOKEN is not set (referenced as ${env:MISSING_TOKEN})"
    )
    assert "cannot read 'no-such-file'" in problems[1].message
    assert problems[2].message.startswith("malformed reference ${vault:x}")
