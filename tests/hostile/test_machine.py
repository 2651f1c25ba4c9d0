"""What the machine does (issue 12, cases 5 and 6): the disk under the state store fills up
mid-run; a path syncfw reads is a FIFO, a device or a huge file instead of a regular file."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

from syncfw.sandbox.runner import Sandbox
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
    again = syncfw("run", recipe, *env, "--json", cwd=tmp_path)
    assert again.exit_code == 0, again.output[-2000:]
    report = json.loads(again.stdout)["targets"]["things"]
    written_before = ROWS - report["created"]
    assert 0 < written_before < ROWS  # the disk filled up mid-run, after some pages were created
    assert notion_keys(sandbox, report["data_source_id"]) == [f"k{i:03}" for i in range(ROWS)]
    quiet = syncfw("run", recipe, *env, "--json", cwd=tmp_path)
    assert json.loads(quiet.stdout)["notion_requests"]["writes"] == 0
