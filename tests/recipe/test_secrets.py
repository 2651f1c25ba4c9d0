"""Secrets come only from references and never show up in errors or reprs."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import httpx
import pytest

from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.secrets import hide
from tests.conftest import RECIPE, start_sandbox
from tests.hostile.support import assert_refused, syncfw

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


_HEAD = """
recipe: test
owner: ada@example.com
description: Test recipe. Runs by hand in tests. If it fails, a test fails.
tier: production
notion: {token: "REFERENCE"}
"""


def test_one_trailing_line_break_of_a_variable_or_file_is_dropped(tmp_path: Path) -> None:
    # what `kubectl create secret --from-file` and `echo TOKEN > file` leave
    (tmp_path / "notion.token").write_bytes(b"ntn_FROM_FILE_value\r\n")
    for reference, env in [
        ("${env:NOTION_TOKEN}", {**ENV, "NOTION_TOKEN": "ntn_FROM_ENV_value\n"}),
        ("${file:notion.token}", ENV),
    ]:
        head = _HEAD.replace("REFERENCE", reference)
        recipe = load_recipe(_write(tmp_path, recipe_text(head=head)), environ=env)
        assert recipe.notion.token.get_secret_value() in ("ntn_FROM_ENV_value", "ntn_FROM_FILE_value")


@pytest.mark.parametrize(
    ("reference", "value", "reason"),
    [
        ("${env:NOTION_TOKEN}", "ntn_SECRET_first\nntn_SECRET_second", "more than one line"),
        ("${file:notion.token}", "ntn_SECRET_first\nsecond-line-SECRET\n", "more than one line"),
        ("${file:notion.token}", "ntn_SECRET_blank_line_after\n\n", "more than one line"),
        ("${env:NOTION_TOKEN}", "ntn_SECRET_caf\u00e9_pasted", "character 15 is not ASCII"),
        ("${env:NOTION_TOKEN}", "ntn_SECRET_nbsp\u00a0", "character 16 is not ASCII"),
        ("${env:NOTION_TOKEN}", "ntn_SECRET_\x00nul", "character 12 is a control character"),
        ("${env:NOTION_TOKEN}", " ntn_SECRET_spaced", "starts or ends with whitespace"),
    ],
)
def test_a_token_that_cannot_be_sent_is_refused_at_its_reference_without_its_value(
    tmp_path: Path, reference: str, value: str, reason: str
) -> None:
    env = dict(ENV)
    if reference.startswith("${file:"):
        (tmp_path / "notion.token").write_bytes(value.encode())
    else:
        env["NOTION_TOKEN"] = value
    head = _HEAD.replace("REFERENCE", reference)
    (problem,) = problems_of(lambda: load_recipe(_write(tmp_path, recipe_text(head=head)), environ=env))
    assert (problem.line, problem.column, problem.path) == (5, 17, "notion.token")
    assert f"the secret from {reference} cannot be used: " in problem.message
    assert reason in problem.message
    for part in ("SECRET", *value.split()):
        assert part not in str(problem)


def test_a_connector_secret_with_a_second_line_is_refused_but_may_be_non_ascii(tmp_path: Path) -> None:
    sources = """
    salesforce:
      connector: salesforce
      config: {instance_url: "${env:SF_URL}", session_id: "${env:SF_SESSION}"}
    """
    recipe = _write(tmp_path, recipe_text(sources=sources))
    two_lines = {**ENV, "SF_SESSION": "00Dx0000SESSION\nSECONDLINE"}
    (problem,) = problems_of(lambda: load_recipe(recipe, registry=fake_registry(), environ=two_lines))
    assert problem.path == "sources.salesforce.config.session_id"
    assert "${env:SF_SESSION} cannot be used: it is more than one line" in problem.message
    assert "SESSION" not in problem.message.replace("SF_SESSION", "")
    # only the Notion token is known to travel in an HTTP header; a password may be any text
    accented = {**ENV, "SF_SESSION": "00Dx0000SESSION\u00e9"}
    assert load_recipe(recipe, registry=fake_registry(), environ=accented).sources["salesforce"]


def test_a_message_quoting_a_malformed_token_does_not_carry_it() -> None:
    # httpx's own error for a header value with a line break quotes the value as bytes
    token = "ntn_SECRET_0123456789"
    with socket.create_server(("127.0.0.1", 0)) as server, httpx.Client() as client:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        with pytest.raises(httpx.LocalProtocolError) as raised:
            client.get(url, headers={"Authorization": f"Bearer {token}\n"})
    message = f"could not reach Notion: {raised.value}"
    assert token in message
    assert hide(message, [token + "\n"]) == "could not reach Notion: Illegal header value b'Bearer ***'"
    accented = token + "\u00e9"
    assert accented[:-1] not in hide(f"{accented!a} {accented.encode()!r}", [accented])


def _token_forms(token: str) -> list[str]:
    """How a token could show up in a file or an output: as it is, line by line, escaped."""
    forms = {token.strip(), *token.split(), repr(token)[1:-1], ascii(token)[1:-1], repr(token.encode())[2:-1]}
    return [f for f in forms if len(f) >= 8]


def test_every_command_keeps_hostile_token_shapes_out_of_output_state_and_plans(
    tmp_path: Path, registry: Registry, seed_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = start_sandbox(tmp_path, registry, seed_dir, monkeypatch)
    try:
        token = os.environ["NOTION_TOKEN"]
        text = RECIPE.read_text().replace("../mappings/", f"{RECIPE.parent.parent}/mappings/")
        (tmp_path / "env.yaml").write_text(text)
        (tmp_path / "file.yaml").write_text(text.replace("${env:NOTION_TOKEN}", "${file:notion.token}"))
        token_line = next(i for i, line in enumerate(text.splitlines(), 1) if "token:" in line)
        printed: list[str] = []

        # a trailing line break, as `kubectl create secret --from-file` leaves it: accepted
        kubectl = {"NOTION_TOKEN": token + "\n"}
        (tmp_path / "notion.token").write_text(token + "\n")
        recipe = str(tmp_path / "env.yaml")
        fast = ["--notion-rate-limit", "500"]
        for args in (
            ["notion", "init", recipe],
            ["plan", str(tmp_path / "file.yaml"), "--out", "plan.json"],
            ["run", recipe, "--json", *fast],
            ["run", recipe, *fast],
            ["status", recipe, "--json"],
        ):
            done = syncfw(*args, cwd=tmp_path, env=kubectl)
            assert done.exit_code == 0, (args, done.output[-2000:])
            printed.append(done.output)
        run_id = json.loads(printed[2])["run_id"]
        done = syncfw("rollback", run_id, "--recipe", recipe, "--dry-run", cwd=tmp_path, env=kubectl)
        assert done.exit_code == 0, done.output[-2000:]
        printed.append(done.output)

        # a second line, a non-ASCII character: refused before anything is read or written
        refused = tmp_path / "refused"
        refused.mkdir()
        shapes = [
            ("file.yaml", "${file:notion.token}", {}, token + "\nsecond-line-of-the-file-SECRET\n"),
            ("env.yaml", "${env:NOTION_TOKEN}", {"NOTION_TOKEN": token + "\u00e9"}, token + "\n"),
            ("env.yaml", "${env:NOTION_TOKEN}", {"NOTION_TOKEN": f"{token}\nline2-SECRET"}, token + "\n"),
        ]
        for name, reference, env, content in shapes:
            (tmp_path / "notion.token").write_text(content)
            for args in (["validate", tmp_path / name], ["run", tmp_path / name]):
                done = syncfw(*args, cwd=refused, env=env)
                assert_refused(
                    done,
                    2,
                    says=f"the secret from {reference} cannot be used",
                    where=f"{name}:{token_line}:",
                    secrets=[f for value in (content, *env.values()) for f in _token_forms(value)],
                )
                printed.append(done.output)
        assert not (refused / ".syncfw").exists()

        written = [p for p in (tmp_path / ".syncfw").rglob("*") if p.is_file()] + [tmp_path / "plan.json"]
        assert any(p.suffix == ".sqlite" for p in written)
        for form in [*_token_forms(token + "\n"), "SECRET"]:
            for output in printed:
                assert form not in output
            for path in written:
                assert form.encode() not in path.read_bytes(), path
    finally:
        box.stop()
