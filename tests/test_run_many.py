"""One cron line for every recipe: ``syncfw run DIR --select … --due`` in the sandbox, through the
command line as a scheduler calls it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from syncfw.clock import iso, utcnow
from syncfw.engine.run import notion_client_for
from syncfw.plugins import Registry
from syncfw.recipe import load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import RunLock, StateStore
from tests.health.support import init_all, recipe_copy

SYNCFW = [sys.executable, "-m", "syncfw.cli"]


def syncfw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env_file = str(cwd / "sandbox.env")
    fast = ["--notion-rate-limit", "500"] if args[0] in ("run", "plan") else []
    return subprocess.run(
        [*SYNCFW, *args, *fast, "--env-file", env_file], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def recipe(directory: Path, name: str, extra: str = "", *, schedule: str | None = "*/15 * * * *") -> Path:
    """The shipped recipe as ``name``, writing its own data source (``Accounts name``)."""
    replace = {
        "recipe: salesforce-accounts": f"recipe: {name}",
        "title: Accounts,": f"title: Accounts {name},",
        "title: Contacts,": f"title: Contacts {name},",
        'schedule: "*/15 * * * *"\n': "" if schedule is None else f'schedule: "{schedule}"\n',
    }
    return recipe_copy(directory, f"{name}.yaml", extra=extra, replace=replace)


def outcomes(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    batch = json.loads(result.stdout)
    assert batch["exit_code"] == result.returncode
    return {o["recipe"]: o for o in batch["recipes"]}


def runs_of(state: Path) -> int:
    store = StateStore(state)
    try:
        return len([r for r in store.runs() if r.command == "run"])
    finally:
        store.close()


def test_a_directory_run_selects_by_tag_name_and_source_and_exits_with_the_worst_code(
    sandbox: Sandbox, tmp_path: Path, registry: Registry
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for path in (recipe(recipes, "crm-a", "tags: [crm]\n"), recipe(recipes, "ops-b", "tags: [ops]\n")):
        init_all(load_recipe(path, registry=registry))
    expired = (date.today() - timedelta(days=1)).isoformat()
    recipe(recipes, "lab").write_text(
        (recipes / "lab.yaml")
        .read_text()
        .replace("tier: production", f"tier: experimental\nexpires: {expired}")
    )
    (recipes / "notes.yaml").write_text("not: a recipe\n")  # other YAML is left out

    ran = syncfw("run", str(recipes), "--select", "tag:crm", "--select", "lab", "--json", cwd=tmp_path)
    assert ran.returncode == 4, ran.stderr  # the expired experiment's guard stop
    found = outcomes(ran)
    assert set(found) == {"crm-a", "lab"}  # ops-b is not selected
    assert (found["crm-a"]["status"], found["crm-a"]["exit_code"]) == ("success", 0), found["crm-a"]["note"]
    assert found["crm-a"]["report"]["targets"]["accounts"]["created"] > 0
    assert (found["lab"]["status"], found["lab"]["exit_code"], found["lab"]["report"]) == ("stopped", 4, None)
    assert "expired on" in found["lab"]["note"]
    assert runs_of(tmp_path / ".syncfw" / "ops-b.sqlite") == 0

    # ops-b is running elsewhere (75) while crm-a succeeds: 75 is not worse than a success…
    with RunLock(tmp_path / ".syncfw" / "ops-b.sqlite", "ops-b", "run"):
        busy = syncfw(
            "run", str(recipes), "-s", "source:salesforce", "-s", "recipes/lab.yaml", "--json", cwd=tmp_path
        )
        # … and a guard stop (4) is worse than a held lock (75), whatever the numbers say
        assert busy.returncode == 4, busy.stderr
        found = outcomes(busy)
        assert [found[n]["status"] for n in ("crm-a", "ops-b", "lab")] == ["success", "locked", "stopped"]
        assert found["ops-b"]["exit_code"] == 75 and "holds its lock" in found["ops-b"]["note"]
        alone = syncfw("run", str(recipes), "--select", "crm-a ops-b", "--json", cwd=tmp_path)
        assert alone.returncode == 75, alone.stderr

    # the summary table for people, and a selection that matches nothing is an error, running nothing
    table = syncfw("plan", str(recipes), "--select", "crm-a", "--log-format", "text", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "plan: 1 recipes · exit 0" in table.stdout and "crm-a" in table.stdout
    typo = syncfw("run", str(recipes), "--select", "tag:crn", "--select", "crm-a", cwd=tmp_path)
    assert typo.returncode == 2 and "--select tag:crn: matches no recipe" in typo.stderr
    assert "Traceback" not in typo.stderr
    unknown = syncfw("run", str(recipes), "--select", "tags:crm", cwd=tmp_path)
    assert unknown.returncode == 2 and "tag:TAG or source:SOURCE" in unknown.stderr
    assert runs_of(tmp_path / ".syncfw" / "crm-a.sqlite") == 3  # not a fourth

    # a recipe file that cannot be read is reported (it might have been selected); the rest runs
    (recipes / "broken.yaml").write_text(
        (recipes / "ops-b.yaml").read_text().replace("tier: production", "tier: gold")
    )
    mixed = syncfw("run", str(recipes), "--select", "crm-a", "--json", cwd=tmp_path)
    assert mixed.returncode == 2, mixed.stderr
    batch = json.loads(mixed.stdout)["recipes"]
    assert [(o["path"], o["status"]) for o in batch] == [
        (str(recipes / "broken.yaml"), "invalid"),
        (str(recipes / "crm-a.yaml"), "success"),
    ]
    assert "broken.yaml:" in batch[0]["note"] and "tier" in batch[0]["note"]


def _ran_at(path: Path, name: str, when: str) -> None:
    """A finished run of ``name`` started at ``when`` in its run history."""
    store = StateStore(path)
    try:
        with store.transaction() as tx:
            tx.start_run(f"{name}-earlier", name, "run", when)
            tx.finish_run(
                f"{name}-earlier", finished_at=when, status="success", exit_code=0, summary={}, error=None
            )
    finally:
        store.close()


def test_due_runs_the_recipes_whose_schedule_fired_since_their_last_run(
    sandbox: Sandbox, tmp_path: Path, registry: Registry
) -> None:
    recipes = tmp_path / "recipes"
    recipes.mkdir()
    for path in (
        recipe(recipes, "hourly", schedule="0 * * * *"),
        recipe(recipes, "fresh", schedule="@daily"),
    ):
        init_all(load_recipe(path, registry=registry))
    recipe(recipes, "yearly", schedule="0 0 1 1 *")
    recipe(recipes, "manual", schedule=None)
    now = utcnow()
    _ran_at(tmp_path / ".syncfw" / "hourly.sqlite", "hourly", iso(now - timedelta(hours=2)) or "")
    _ran_at(tmp_path / ".syncfw" / "yearly.sqlite", "yearly", iso(now - timedelta(minutes=1)) or "")

    ran = syncfw("run", str(recipes), "--due", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    found = outcomes(ran)
    assert found["hourly"]["status"] == "success" and found["hourly"]["note"] is None
    assert found["fresh"]["status"] == "success"  # never ran: due
    assert found["yearly"]["status"] == "skipped" and found["yearly"]["note"].startswith("not due: next at ")
    assert found["manual"]["status"] == "skipped" and "no schedule" in found["manual"]["note"]
    assert found["hourly"]["report"]["targets"]["accounts"]["created"] > 0

    # the runs just made are the last runs now: nothing is due any more (JSON lines, as under cron)
    again = syncfw("run", str(recipes), "--due", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (0, ""), again.stderr
    lines = [json.loads(line) for line in again.stderr.splitlines()]
    assert [line["event"] for line in lines] == ["recipe_not_run"] * 4 + ["batch_finished"]
    assert lines[-1]["recipes"] == dict.fromkeys(("fresh", "hourly", "manual", "yearly"), "skipped")


def test_recipes_sharing_a_notion_token_share_one_rate_budget(tmp_path: Path) -> None:
    environ = {
        "NOTION_TOKEN": "ntn_shared_0123",
        "NOTION_PARENT_PAGE_ID": "0" * 32,
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_SESSION_ID": "00Dx0000SESSION!AQ",
    }
    first = load_recipe(recipe(tmp_path, "first"), environ=environ)
    second = load_recipe(recipe(tmp_path, "second"), environ=environ)
    other = load_recipe(recipe(tmp_path, "other"), environ={**environ, "NOTION_TOKEN": "ntn_other_0123"})
    clients = [notion_client_for(r) for r in (first, second, other)]
    try:
        assert clients[0].budget is clients[1].budget
        assert clients[2].budget is not clients[0].budget
    finally:
        for client in clients:
            client.close()
