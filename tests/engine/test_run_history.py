"""A run's history stays small whatever its size: counts and a sample in the summary, every
operation in run history's own table; retention prunes history and the journal, and rollback
states how far back it reaches (issue 15)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from syncfw.clock import iso, parse_time
from syncfw.engine.report import SAMPLE
from syncfw.engine.rollback import rollback
from syncfw.errors import ConfigError
from syncfw.health import run_history
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.recipe.model import Retention
from syncfw.sandbox.runner import Sandbox
from syncfw.state import open_state
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import FAST, bump, init, pages, seed, sync, write_seed
from tests.hostile.support import syncfw

EXTRA = SAMPLE + 20
"""New accounts beyond the sample of creates a summary keeps."""


@pytest.fixture
def recipe(sandbox: Sandbox, registry: Registry) -> Recipe:
    return load_recipe(RECIPE, registry=registry)


def _more_accounts(seed_dir: Path) -> int:
    """Add :data:`EXTRA` accounts to the seed; returns how many accounts it then has."""
    accounts = seed(seed_dir, "Account")
    for n in range(EXTRA):
        record = dict(accounts[0], Id=f"001Sx{n:07}XTRIAA", Name=f"Extra Co {n}")
        bump(record)
        accounts.append(record)
    write_seed(seed_dir, "Account", accounts)
    return sum(1 for a in accounts if not a.get("IsDeleted"))


def test_a_run_past_the_sample_keeps_counts_and_a_sample_in_its_summary_every_operation_in_history_and_rolls_back(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, seed_dir: Path
) -> None:
    accounts = _more_accounts(seed_dir)
    ids = init(recipe)
    report = sync(recipe, registry)
    assert report.exit_code == 0, report.error

    store = open_state(recipe)
    try:
        (row,) = store.runs()
        summary = row.summary or {}
        kept = list(store.all_operations(report.run_id))
    finally:
        store.close()
    assert row.status == "success"
    target = summary["targets"]["accounts"]
    assert target["created"] == target["operations_total"] == accounts
    assert len(target["operations"]) == SAMPLE  # the first creates only
    assert summary["operations_in"] == "run_operations"
    planned = [(name, op.sync_key) for name, t in report.targets.items() for op in t.plan.operations]
    assert [(op.target, op.sync_key) for op in kept] == planned
    assert [op.seq for op in kept] == list(range(1, len(planned) + 1))
    assert all(op.page_id for op in kept)  # creates carry the page they made
    (entry,) = run_history(recipe)
    assert entry.operations == len(planned)
    listed = syncfw("runs", RECIPE, "--operations", report.run_id, "--json", "--env-file", "sandbox.env")
    assert listed.exit_code == 0 and len(listed.stdout.splitlines()) == len(planned), listed.output

    undone = rollback(recipe, report.run_id, rate_limit=FAST)
    assert undone.reach.oldest_run == report.run_id
    assert (undone.reach.journal_since or "") < report.started_at  # 30 days (the default) before it
    live = [p for p in pages(sandbox, ids["accounts"]) if not p.get("in_trash")]
    assert live == []  # every page the run created is in the trash again


def test_retention_keeps_the_newest_runs_and_a_pruned_run_is_refused_with_the_reach(
    sandbox: Sandbox, recipe: Recipe, registry: Registry, tmp_path: Path
) -> None:
    kept = recipe.model_copy(update={"retention": Retention(history_runs=2, journal_days=1)})
    init(kept)
    first = sync(kept, registry)
    runs = [first, sync(kept, registry), sync(kept, registry)]
    assert all(r.status == "success" for r in runs)

    store = open_state(kept)
    try:
        history = [r.run_id for r in store.runs()]
        assert len(history) == 2 and runs[2].run_id in history  # the run pruning is never pruned
        (pruned,) = {r.run_id for r in runs} - set(history)
        assert store.operation_counts([pruned]) == {}
        written = store.journal(run_id=first.run_id)  # a day's journal is kept: it can still be undone
        assert written
        last = max(filter(None, (parse_time(e.created_at) for e in written)))
        with store.transaction() as tx:  # as a run would a day after the first run's writes
            cutoff = (last + timedelta(seconds=1)).replace(microsecond=0)
            tx.prune(keep_runs=2, journal_before=iso(cutoff, "milliseconds") or "")
        assert store.journal(run_id=first.run_id) == []
    finally:
        store.close()

    with pytest.raises(ConfigError) as refused:
        rollback(kept, first.run_id, rate_limit=FAST)
    assert f"run {first.run_id} cannot be rolled back" in str(refused.value)
    assert "rollback reaches back to" in str(refused.value)
    outcome = syncfw("rollback", first.run_id, "--recipe", RECIPE, "--env-file", tmp_path / "sandbox.env")
    assert outcome.exit_code == 2, outcome.output
    assert "Traceback" not in outcome.output
    assert "journal entries older than that were pruned" in outcome.output
