"""Tokens that change under a running sync: a token file rotated by its secret store, and an OAuth
connection whose access token expires. Through notion-client and the Notion emulator, which
refuses a rotated or expired token and rotates refresh tokens as Notion does."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncfw.engine.run import RunReport, notion_client_for
from syncfw.notion.credentials import OAUTH_SETTING
from syncfw.notion.setup import init_targets
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import open_state
from tests.conftest import RECIPE, REPO
from tests.engine.test_sync_end_to_end import FAST, bump, by_key, pages, seed, sync, write_seed

SYNCFW = [sys.executable, "-m", "syncfw.cli"]
CLIENT_ID = "syncfw-test-connection"
CLIENT_SECRET = "cs_client_secret_of_the_test"


def recipe_with(tmp_path: Path, notion: str) -> Path:
    """The salesforce-accounts recipe with its ``notion:`` block's token line replaced."""
    text = RECIPE.read_text().replace("../mappings/", f"{REPO}/mappings/")
    text = text.replace("  token: ${env:NOTION_TOKEN}\n", notion)
    path = tmp_path / "recipes" / "accounts.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def init(recipe: Recipe) -> dict[str, str]:
    store = open_state(recipe)
    client = notion_client_for(recipe, FAST, store)
    ids = {r.target: r.data_source_id for r in init_targets(client, store, recipe)}
    client.close()
    store.close()
    return ids


def shown(report: RunReport) -> str:
    return json.dumps(report.as_dict(), default=str) + (report.error or "")


def test_a_token_rotated_in_its_file_is_read_again_when_notion_refuses_it(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "recipes" / "notion.token"
    token_file.parent.mkdir()
    token_file.write_text(sandbox.env["NOTION_TOKEN"] + "\n")
    path = recipe_with(tmp_path, "  token: ${file:notion.token}\n")
    recipe = load_recipe(path, registry=registry)
    ids = init(recipe)
    assert sync(recipe, registry).exit_code == 0
    accounts = seed(seed_dir, "Account")
    accounts[0]["Industry"] = "Biotechnology"
    bump(accounts[0])
    write_seed(seed_dir, "Account", accounts)
    assert sandbox.notion is not None
    rotated = sandbox.notion.rotate_token()  # the old token is refused from now on
    token_file.write_text(rotated + "\n")  # as the secret store rewrites the mounted file

    run = sync(recipe, registry)  # loaded with the old token, which Notion now refuses

    assert run.exit_code == 0, run.error
    assert run.targets["accounts"].done["update"] == 1
    monkeypatch.setenv("NOTION_TOKEN", rotated)  # what the sandbox's own reads send
    live = by_key(pages(sandbox, ids["accounts"]))
    assert live[accounts[0]["Id"]]["properties"]["Industry"]["select"]["name"] == "Biotechnology"
    assert rotated not in shown(run) and sandbox.env["NOTION_TOKEN"] not in shown(run)

    monkeypatch.setenv("NOTION_TOKEN", sandbox.env["NOTION_TOKEN"])  # a static token is not renewed
    static = load_recipe(recipe_with(tmp_path, "  token: ${env:NOTION_TOKEN}\n"), registry=registry)
    refused = sync(static, registry)
    assert refused.exit_code == 1
    assert "401 unauthorized" in (refused.error or "") and "notion.so/profile/integrations" in (
        refused.error or ""
    )
    assert sandbox.env["NOTION_TOKEN"] not in shown(refused)


def oauth_recipe(tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch, refresh: str) -> Recipe:
    monkeypatch.setenv("NOTION_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("NOTION_REFRESH_TOKEN", refresh)
    block = (
        f"  oauth:\n    client_id: {CLIENT_ID}\n    client_secret: ${{env:NOTION_OAUTH_CLIENT_SECRET}}\n"
        "    refresh_token: ${env:NOTION_REFRESH_TOKEN}\n"
    )
    return load_recipe(recipe_with(tmp_path, block), registry=registry)


def test_an_expired_oauth_access_token_is_refreshed_mid_run_without_losing_or_duplicating_a_write(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.notion is not None
    _, refresh = sandbox.notion.connect_oauth(CLIENT_ID, CLIENT_SECRET)
    recipe = oauth_recipe(tmp_path, registry, monkeypatch, refresh)
    ids = init(recipe)  # exchanges the recipe's refresh token; keeps the rotated one in state
    sandbox.notion.reset_stats()
    sandbox.notion.expire_access_tokens(after=8)  # a few requests into the first import

    run = sync(recipe, registry)

    assert run.exit_code == 0, run.error
    exchanges = sandbox.notion.stats()["by_endpoint"].get("POST /v1/oauth/token", 0)
    assert exchanges == 1  # the run started on the kept access token and refreshed it once
    accounts = {a["Id"] for a in seed(seed_dir, "Account") if not a.get("IsDeleted")}
    live = pages(sandbox, ids["accounts"])
    assert sorted(by_key(live)) == sorted(accounts) and len(live) == len(accounts)  # none lost, none twice
    store = open_state(recipe)
    kept = json.loads(store.setting(OAUTH_SETTING) or "{}")
    history = json.dumps([dataclasses.asdict(r) for r in store.runs()], default=str)
    store.close()
    assert kept["refresh_token"] not in (refresh, "") and kept["access_token"]
    for secret in (refresh, kept["refresh_token"], kept["access_token"], CLIENT_SECRET):
        assert secret not in shown(run) and secret not in history
    shown_state = subprocess.run(
        [*SYNCFW, "state", "show", str(recipe.path), "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert kept["refresh_token"] not in shown_state and kept["access_token"] not in shown_state

    again = sync(recipe, registry)
    assert again.exit_code == 0 and again.notion_requests["writes"] == 0
    assert sandbox.notion.stats()["by_endpoint"].get("POST /v1/oauth/token", 0) == 1  # kept token still good

    sandbox.notion.expire_access_tokens()  # the command line refreshes too, and prints no token
    printed = [
        subprocess.run(
            [*SYNCFW, *args, str(recipe.path), "--log-format", "json"], capture_output=True, text=True
        )
        for args in (["plan", "--out", str(tmp_path / "plan.json")], ["run", "--json"])
    ]
    assert [p.returncode for p in printed] == [0, 0], printed[-1].stderr[-2000:]
    store = open_state(recipe)
    latest = json.loads(store.setting(OAUTH_SETTING) or "{}")
    store.close()
    assert latest["refresh_token"] != kept["refresh_token"]
    texts = [p.stdout + p.stderr for p in printed] + [(tmp_path / "plan.json").read_text()]
    for secret in (*latest.values(), *kept.values(), refresh, CLIENT_SECRET):
        assert all(secret not in text for text in texts)


def test_a_refresh_token_notion_no_longer_accepts_stops_the_run_naming_what_to_do(
    sandbox: Sandbox, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.notion is not None
    _, refresh = sandbox.notion.connect_oauth(CLIENT_ID, CLIENT_SECRET)
    recipe = oauth_recipe(tmp_path, registry, monkeypatch, refresh)
    init(recipe)
    store = open_state(recipe)
    with store.transaction() as tx:  # the kept tokens are lost: only the recipe's (used) one is left
        tx.set_setting(OAUTH_SETTING, "{}")
    store.close()

    run = sync(recipe, registry)

    assert run.exit_code == 1
    assert "invalid_grant" in (run.error or "") and "notion.oauth.refresh_token" in (run.error or "")
    assert refresh not in shown(run) and CLIENT_SECRET not in shown(run)
