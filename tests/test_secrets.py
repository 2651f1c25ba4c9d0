"""One rule for hiding secrets (:mod:`syncfw.secrets`), the same for recipe errors, run reports
and the text health sends to Notion and chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncfw.errors import ConfigError
from syncfw.health.inventory import load_offline
from syncfw.health.redaction import scrub
from syncfw.recipe import load_recipe

BASE = Path(__file__).resolve().parent / "corpus" / "base" / "recipe.yaml"
ENV = {
    "NOTION_TOKEN": "ntn_dummy_token_for_secret_tests",
    "NOTION_PARENT_PAGE_ID": "b064cb88-20be-48d4-8d74-e785f32e0d67",
    "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9",
}


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_a_short_secret_is_hidden_from_health_text_as_from_recipe_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALESFORCE_SESSION_ID", "s3Kr!")  # five characters
    recipe = load_offline(BASE)
    assert scrub("Salesforce refused session s3Kr! (INVALID_SESSION_ID)", recipe) == (
        "Salesforce refused session *** (INVALID_SESSION_ID)"
    )
    # the loader hides the same value in its own messages
    broken = tmp_path / "recipe.yaml"
    text = BASE.read_text().replace("mappings/", f"{BASE.parent}/mappings/")
    broken.write_text(text.replace("rate_limit: 3/s", "rate_limit: ${env:SALESFORCE_SESSION_ID}"))
    with pytest.raises(ConfigError) as refused:
        load_recipe(broken)
    assert "rate_limit" in str(refused.value) and "s3Kr!" not in str(refused.value)


def test_a_value_shorter_than_the_rule_is_left_in_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFORCE_SESSION_ID", "abc")
    recipe = load_offline(BASE)
    assert scrub("abc of the abcs", recipe) == "abc of the abcs"
