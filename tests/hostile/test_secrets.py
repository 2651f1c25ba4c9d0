"""Hostile inputs around secrets (issue 12, case 11): files that hold credentials named where a
mapping or recipe is expected, and Notion tokens that cannot be sent."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.hostile.support import assert_refused, syncfw

BASE = Path(__file__).resolve().parents[1] / "corpus" / "base"
DUMMY = {
    "NOTION_TOKEN": "ntn_dummy_token_for_hostile_tests",
    "NOTION_BASE_URL": "http://127.0.0.1:9",
    "NOTION_PARENT_PAGE_ID": "b064cb88-20be-48d4-8d74-e785f32e0d67",
    "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9",
    "SALESFORCE_SESSION_ID": "00Ddummy!session",
    "SYNCFW_LOAD_PLUGINS": "salesforce",
}
ENV_FILE = "NOTION_TOKEN=secret_ENVFILE_token_0123456789\nSALESFORCE_SESSION_ID=00D!ENVFILE_session\n"
COLON_ENV_FILE = "NOTION_TOKEN: secret_COLON_token_0123456789\n"
SHADOW = (
    "root:$6$saltsalt$SHADOWHASHrootXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:19000:0:99999:7:::\n"
    "daemon:*:19000:0:99999:7:::\n"
)


@pytest.mark.parametrize("content", [ENV_FILE, COLON_ENV_FILE, SHADOW], ids=["env", "colon-env", "shadow"])
def test_a_mapping_path_naming_a_credentials_file_is_refused_without_its_lines(
    tmp_path: Path, content: str
) -> None:
    case = tmp_path / "case"
    shutil.copytree(BASE, case)
    (case / "secrets.txt").write_text(content)
    recipe = case / "recipe.yaml"
    text = recipe.read_text()
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "mappings/account.yaml" in row)
    recipe.write_text(text.replace("mappings/account.yaml", "secrets.txt"))
    lines = [part for row in content.splitlines() for part in (row, *row.replace("=", ":").split(":"))]
    for command in ("validate", "run"):
        done = syncfw(command, recipe, cwd=tmp_path, env=DUMMY)
        assert_refused(
            done,
            2,
            says="'secrets.txt' is not a mapping file",
            where=f"recipe.yaml:{line}:",
            secrets=[part for part in lines if len(part) > 6],
        )
        assert "unknown key" not in done.output
    assert not (tmp_path / ".syncfw").exists()
    # named on its own, it is not taken for a recipe either
    done = syncfw("validate", case / "secrets.txt", cwd=tmp_path, env=DUMMY)
    if content != ENV_FILE:  # a bare value cannot echo a key: pydantic's "valid dictionary" says it
        assert_refused(done, 2, says="is not a recipe file", secrets=[p for p in lines if len(p) > 6])


def test_a_notion_token_with_a_second_line_is_refused_by_the_client_too(tmp_path: Path) -> None:
    # `sandbox dump` reads NOTION_TOKEN without a recipe: the client refuses it before sending
    (tmp_path / "empty.env").write_text("")
    env = {**DUMMY, "NOTION_TOKEN": "ntn_SECRET_first_line\nsecond_SECRET_line"}
    done = syncfw("sandbox", "dump", "--env-file", tmp_path / "empty.env", cwd=tmp_path, env=env)
    assert_refused(
        done,
        2,
        says="the Notion token cannot be sent to Notion: it is more than one line",
        secrets=["ntn_SECRET_first_line", "second_SECRET_line"],
    )


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "setting"),
    [
        ("SALESFORCE_SESSION_ID", "sources.salesforce.config.session_id"),
        ("HUBSPOT_ACCESS_TOKEN", "sources.hubspot.config.access_token"),
        ("ZENDESK_API_TOKEN", "sources.zendesk.config.api_token"),
    ],
    ids=["salesforce", "hubspot", "zendesk"],
)
def test_a_source_token_with_a_non_ascii_character_is_refused_in_one_line(
    sandbox: object, variable: str, setting: str
) -> None:
    # pasted with a typographic character: each connector sends its token in an HTTP header,
    # which cannot carry it (requests and urllib3 fail with UnicodeEncodeError while sending)
    token = f"{os.environ[variable]}\u2019SECRET"
    for command in ("validate", "run"):
        done = syncfw(command, REPO / "recipes" / "customer-360.yaml", env={variable: token})
        assert_refused(
            done, 2, says=f"{setting}: character", where="customer-360.yaml:", secrets=[token, token[:-7]]
        )
        assert "is not ASCII, which an HTTP header cannot carry" in done.output
        assert len([line for line in done.output.splitlines() if setting in line]) == 1, done.output
