"""What the machine does (issue 12, cases 5 and 6): the disk under the state store fills up
mid-run; a path syncfw reads is a FIFO, a device or a huge file instead of a regular file."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.engine.test_sync_end_to_end import pages, text
from tests.hostile.support import Outcome, assert_refused, syncfw

MAPPING = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
  Notes: {type: rich_text, field: notes}
"""

RECIPE = """\
recipe: machine
owner: ops-lead@example.com
description: >
  Loads a file of records into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  file: {{connector: files, config: {{path: "{path}", key: key}}}}
targets:
  things:
    database: {{title: Things, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [things.yaml]
    guard: {{max_change: 100%}}
"""

ROWS = 150


def files_recipe(tmp_path: Path, data: Path) -> Path:
    """A recipe (``machine.yaml``) that loads the JSON Lines file ``data`` into a Things database."""
    (tmp_path / "things.yaml").write_text(MAPPING)
    recipe = tmp_path / "machine.yaml"
    recipe.write_text(RECIPE.format(path=data))
    return recipe


def with_file_size_limit(limit: int, *args: str | Path, cwd: Path) -> Outcome:
    """``syncfw ARGS`` in a fresh process whose files cannot grow past ``limit`` bytes
    (``ulimit -f``), with SIGXFSZ ignored so that a write past the limit fails with EFBIG."""
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    done = subprocess.run(
        [sys.executable, "-m", "syncfw.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
        preexec_fn=limit_file_size,
    )
    return Outcome(done.returncode, done.stdout, done.stderr)


def notion_keys(box: Sandbox, data_source_id: str) -> list[str]:
    return sorted(text(p["properties"]["Key"]) for p in pages(box, data_source_id))


def test_disk_full_under_the_state_store_mid_run_is_one_line_and_the_next_run_loses_nothing(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """The disk fills up under the state store while a run is writing.

    How the disk is filled: the run's process gets a file size limit (``RLIMIT_FSIZE``, what
    ``ulimit -f`` sets) with SIGXFSZ ignored, so the kernel refuses the first write that would
    take a file of the state store past the limit (EFBIG), exactly where a full disk refuses one
    with ENOSPC; writes before it stand. It needs no privileges and works on every POSIX CI,
    unlike a small tmpfs or loop mount. SQLite reports it as SQLITE_IOERR_WRITE (a full disk gives
    SQLITE_FULL) and, for both, rolls the transaction back by itself
    (https://www.sqlite.org/lang_transaction.html), which the store's own ROLLBACK used to turn
    into "cannot rollback - no transaction is active" and a traceback.
    """
    data = tmp_path / "things.jsonl"
    data.write_text(
        "".join(
            json.dumps({"key": f"k{i:03}", "name": f"Thing {i}", "notes": "n" * 200}) + "\n"
            for i in range(ROWS)
        )
    )
    recipe = files_recipe(tmp_path, data)
    env = ("--env-file", tmp_path / "sandbox.env")
    assert syncfw("notion", "init", recipe, *env, cwd=tmp_path).exit_code == 0

    full = with_file_size_limit(400_000, "run", recipe, *env, "--quiet", cwd=tmp_path)

    assert_refused(full, 1, says="could not be written: disk full", where=".syncfw/machine.sqlite")
    (line,) = full.output.strip().splitlines()
    assert "nothing is lost: the next run settles" in line
    runs = syncfw("runs", recipe, *env, "--json", cwd=tmp_path)
    (ended,) = json.loads(runs.stdout)["runs"]  # the run recorded its end, though the disk was full
    assert (ended["status"], ended["exit_code"], ended["finished_at"] is not None) == ("failed", 1, True)
    assert "could not be written: disk full" in ended["error"]
    again = syncfw("run", recipe, *env, "--json", cwd=tmp_path)
    assert again.exit_code == 0, again.output[-2000:]
    report = json.loads(again.stdout)["targets"]["things"]
    written_before = ROWS - report["created"]
    assert 0 < written_before < ROWS  # the disk filled up mid-run, after some pages were created
    assert notion_keys(sandbox, report["data_source_id"]) == [f"k{i:03}" for i in range(ROWS)]
    quiet = syncfw("run", recipe, *env, "--json", cwd=tmp_path)
    assert json.loads(quiet.stdout)["notion_requests"]["writes"] == 0


def test_a_run_that_could_not_record_its_end_is_recorded_failed_by_the_next_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A run killed (or whose end even a freed write-ahead log could not hold) stays ``running`` in
    the history; the next run, holding the run lock, records it as failed with the reason."""
    data = tmp_path / "things.jsonl"
    data.write_text(json.dumps({"key": "k0", "name": "Thing 0", "notes": ""}) + "\n")
    recipe = files_recipe(tmp_path, data)
    env = ("--env-file", tmp_path / "sandbox.env")
    assert syncfw("notion", "init", recipe, *env, cwd=tmp_path).exit_code == 0
    store = StateStore(tmp_path / ".syncfw" / "machine.sqlite")
    with store.transaction() as tx:
        tx.start_run("20260101T000000Z-dead", "machine", "run", "2026-01-01T00:00:00Z")
    store.close()

    assert syncfw("run", recipe, *env, "--quiet", cwd=tmp_path).exit_code == 0

    runs = json.loads(syncfw("runs", recipe, *env, "--json", cwd=tmp_path).stdout)["runs"]
    assert [(r["run_id"] == "20260101T000000Z-dead", r["status"]) for r in runs] == [
        (False, "success"),
        (True, "failed"),
    ]
    assert runs[1]["error"].startswith("the run could not record its end (it was killed, or the disk")


CORPUS_BASE = Path(__file__).resolve().parents[1] / "corpus" / "base"
DUMMY_ENV = {
    "NOTION_TOKEN": "ntn_machine_dummy_token_0000000000",
    "NOTION_BASE_URL": "http://127.0.0.1:9",
    "NOTION_PARENT_PAGE_ID": "00000000-0000-4000-8000-00000000c0de",
    "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9",
    "SALESFORCE_SESSION_ID": "00Dmachine0dummy0session0id000",
    "SYNCFW_LOAD_PLUGINS": "salesforce",
}
# A FIFO that nobody writes blocks a reader's open() for ever: a command still running after this
# many seconds has hung.
HANG = 30


def corpus_recipe(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the corpus's unbroken recipe in ``tmp_path/case`` with ``old`` replaced by ``new``."""
    case = tmp_path / "case"
    shutil.copytree(CORPUS_BASE, case)
    recipe = case / "recipe.yaml"
    text = recipe.read_text()
    assert old in text
    recipe.write_text(text.replace(old, new))
    return recipe


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_secret_file_that_is_a_fifo_is_refused_at_its_reference_without_waiting(
    tmp_path: Path, command: str
) -> None:
    recipe = corpus_recipe(tmp_path, "${env:SALESFORCE_SESSION_ID}", "${file:session.fifo}")
    os.mkfifo(recipe.parent / "session.fifo")

    refused = syncfw(command, recipe, cwd=tmp_path, env=DUMMY_ENV, timeout=HANG)

    assert_refused(
        refused,
        2,
        says="it is a FIFO (named pipe), not a regular file",
        where=f"{recipe}:17:19 sources.salesforce.config.session_id",
        secrets=[DUMMY_ENV["NOTION_TOKEN"]],
    )
    assert not (tmp_path / ".syncfw").exists()  # nothing read or written


def test_a_secret_file_over_64_kib_is_refused_unread_and_unechoed(tmp_path: Path) -> None:
    recipe = corpus_recipe(tmp_path, "${env:SALESFORCE_SESSION_ID}", "${file:session.token}")
    (recipe.parent / "session.token").write_text("00Dbig" + "x" * 70_000)

    refused = syncfw("validate", recipe, cwd=tmp_path, env=DUMMY_ENV, timeout=HANG)

    assert_refused(
        refused,
        2,
        says="it is larger than 64 KiB, the most syncfw reads from a secret or env file",
        where=f"{recipe}:17:19",
        secrets=["00Dbig", "xxxx"],
    )


def test_a_mapping_path_that_is_a_fifo_is_refused_at_the_recipes_reference(tmp_path: Path) -> None:
    recipe = corpus_recipe(tmp_path, "mappings/contact.yaml", "contact.fifo")
    os.mkfifo(recipe.parent / "contact.fifo")

    refused = syncfw("validate", recipe, cwd=tmp_path, env=DUMMY_ENV, timeout=HANG)

    assert_refused(
        refused,
        2,
        says="mapping file 'contact.fifo' cannot be read",
        where=f"{recipe}:30:16 targets.contacts.mappings[0]",
    )
    assert "it is a FIFO (named pipe), not a regular file" in refused.stderr


@pytest.mark.parametrize("command", ["validate", "run"])
def test_a_recipe_path_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path, command: str) -> None:
    recipe = tmp_path / "recipe.yaml"
    os.mkfifo(recipe)

    refused = syncfw(command, recipe, cwd=tmp_path, env=DUMMY_ENV, timeout=HANG)

    assert_refused(refused, 2, says="it is a FIFO (named pipe), not a regular file", where=f"{recipe}:1:1")


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_an_env_file_that_is_a_fifo_or_a_device_is_refused_without_waiting(tmp_path: Path, kind: str) -> None:
    recipe = corpus_recipe(tmp_path, "3/s", "3/s")
    env_file = tmp_path / "sandbox.env"
    if kind == "fifo":
        os.mkfifo(env_file)
    else:
        env_file = Path(kind)

    refused = syncfw("run", recipe, "--env-file", env_file, cwd=tmp_path, env=DUMMY_ENV, timeout=HANG)

    assert_refused(refused, 2, says=f"{env_file}: cannot read the env file: it is a ")
    assert "not a regular file" in refused.stderr and "MemoryError" not in refused.output


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_source_file_that_is_a_fifo_or_a_device_fails_the_run_before_any_write_and_the_next_run_converges(
    sandbox: Sandbox, tmp_path: Path, kind: str
) -> None:
    data = tmp_path / "things.jsonl"
    if kind == "fifo":
        os.mkfifo(data)
        recipe = files_recipe(tmp_path, data)
    else:
        recipe = files_recipe(tmp_path, Path(kind))
        recipe.write_text(recipe.read_text().replace("key: key}", "key: key, format: jsonl}"))
    env = ("--env-file", tmp_path / "sandbox.env")
    assert syncfw("notion", "init", recipe, *env, cwd=tmp_path).exit_code == 0

    refused = syncfw("run", recipe, *env, "--quiet", cwd=tmp_path, timeout=HANG)

    assert_refused(refused, 1, says="cannot be read: it is a ", where=str(data if kind == "fifo" else kind))
    assert "not a regular file" in refused.output and "MemoryError" not in refused.output
    recipe.write_text(RECIPE.format(path=data))
    data.unlink(missing_ok=True)
    data.write_text(
        "".join(json.dumps({"key": f"k{i}", "name": f"T{i}", "notes": ""}) + "\n" for i in range(3))
    )
    again = syncfw("run", recipe, *env, "--json", cwd=tmp_path)
    assert again.exit_code == 0, again.output[-2000:]
    report = json.loads(again.stdout)["targets"]["things"]
    assert report["created"] == 3  # the refused run created nothing
    assert notion_keys(sandbox, report["data_source_id"]) == ["k0", "k1", "k2"]
