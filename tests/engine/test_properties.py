"""Randomised properties of two promises (Hypothesis draws the cases, not a fixed list):

- a stream's cursor never advances past a record whose write did not happen, and advances as far
  as the records written (or quarantined, to be retried) allow;
- a create Notion answers ambiguously (lost answer, late commit, no commit) never yields two pages
  for one sync key, whatever the order of the answers, and every key ends with its page.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncfw.connector import Checkpoint, Record
from syncfw.engine.commit import commit_target
from syncfw.engine.model import ApplyResult, Rejection
from syncfw.errors import RecordProblem
from syncfw.plugins import Registry, load_plugins
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import StateStore
from tests.engine.stages import account, load, plan
from tests.engine.test_ownership import value
from tests.engine.test_sync_end_to_end import init, pages, sync

REGISTRY = load_plugins()

# a stream: records (key, evaluates?) and checkpoints; then what became of each record's write
item = st.one_of(
    st.tuples(st.just("record"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("checkpoint"), st.just(0), st.just(True)),
)
fate = st.sampled_from(["written", "written", "held", "rejected"])


@pytest.fixture(scope="module")
def accounts() -> Iterator[Recipe]:
    with tempfile.TemporaryDirectory() as work:
        yield load(Path(work), REGISTRY)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(item, max_size=14), fates=st.lists(fate, min_size=14, max_size=14))
def test_a_cursor_never_passes_a_record_not_written(
    accounts: Recipe, items: list[tuple[str, int, bool]], fates: list[str]
) -> None:
    recipe = accounts
    stream: list[Record | Checkpoint] = []
    for n, (kind, key, valid) in enumerate(items):
        if kind == "checkpoint":
            stream.append(Checkpoint("rows", f"c{n:02}"))
        else:
            stream.append(account(f"k{key}", f"Name {n}", employees=n if valid else "many"))
    store = StateStore(Path(":memory:"))
    planned = plan(recipe, REGISTRY, store, {"accounts": stream})
    held: set[int] = set()
    rejections = []
    for op, what in zip(planned.plan.operations, fates, strict=False):
        positions = [p for _, p in op.records]
        if what == "held":
            held.update(positions)
        elif what == "rejected":
            for p in positions:
                record = planned.ledger.record("accounts", p)
                problem = RecordProblem("accounts", "rows", record.key, None, "refused")
                rejections.append(Rejection(problem, "accounts", record))
    result = ApplyResult(held={"accounts": frozenset(held)}, rejections=tuple(rejections))

    with store.transaction() as tx:
        commit_target(
            tx,
            store,
            target="accounts",
            run_id="r",
            delta=planned.delta,
            result=result,
            ledger=planned.ledger,
        )

    assert {r.record.key for r in rejections} <= {q.record_key for q in store.quarantined("accounts")}
    checkpoints: list[tuple[int, str]] = []
    count = 0
    for entry in stream:
        if isinstance(entry, Checkpoint):
            checkpoints.append((count, entry.cursor))
        else:
            count += 1

    def passes_a_held_record(position: int) -> bool:
        """A cursor at ``position`` would skip a record whose write did not happen."""
        return any(p < position for p in held)

    cursor = store.cursor("accounts", "accounts", "rows")
    if cursor is None:  # no checkpoint may be taken
        assert all(passes_a_held_record(p) for p, _ in checkpoints)
    else:  # the newest checkpoint that skips no record not written
        reached = max(p for p, c in checkpoints if c == cursor)
        assert not passes_a_held_record(reached)
        assert all(passes_a_held_record(p) for p, c in checkpoints if p > reached)
    store.close()


RECIPE = """\
recipe: ambiguous-{n}
owner: ops-lead@example.com
description: >
  Loads one file into Notion. Runs by hand for this test. If it fails, nothing breaks.
tier: production
notion: {{token: "${{env:NOTION_TOKEN}}", rate_limit: 200/s}}
sources:
  things: {{connector: files, config: {{path: "{path}", key: key}}}}
targets:
  things:
    database: {{title: Things {n}, parent_page: "${{env:NOTION_PARENT_PAGE_ID}}"}}
    sync_key: Key
    mappings: [{{file: things.yaml, source: things}}]
    guard: {{max_change: 100%}}
"""
THINGS = """\
mapping: things
connector: files
stream: rows
sync_key: Key
properties:
  Key: {type: rich_text, field: key}
  Name: {type: title, field: name}
"""
GRACE = 0.8
"""Seconds syncfw waits after sending a create before a lookup that finds nothing means anything
(SYNCFW_INFLIGHT_GRACE): the emulator's late commits below all land within it, as Notion's do
within its 60 seconds."""
# the answer to one create: lost after the commit, committed late (seconds), or never committed
answer = st.one_of(
    st.just(("after_commit", 0.0)),
    st.tuples(st.just("late"), st.sampled_from([0.1, 0.3, 0.6])),
    st.just(("never", 0.0)),
)
examples = iter(range(10_000))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.integers(1, 4), answers=st.lists(answer, min_size=1, max_size=4))
def test_an_ambiguous_create_never_makes_two_pages_for_one_key(
    sandbox: Sandbox,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    keys: int,
    answers: list[tuple[str, float]],
) -> None:
    monkeypatch.setenv("SYNCFW_INFLIGHT_GRACE", str(GRACE))
    assert sandbox.notion is not None
    recipe = _recipe(next(examples), [f"k{n}" for n in range(keys)])
    ids = init(recipe)
    for kind, delay in answers:
        if kind == "after_commit":
            sandbox.notion.inject_fault("POST /v1/pages", status=504, after_commit=True)
        elif kind == "late":
            sandbox.notion.inject_fault("POST /v1/pages", status=504, commit_after=delay)
        else:
            sandbox.notion.inject_fault("POST /v1/pages", status=504)

    for _ in range(2):
        report = sync(recipe, registry)
        assert report.exit_code == 0, report.error
        _one_page_per_key(sandbox, ids["things"])
    sandbox.notion.clear_faults()
    time.sleep(max(delay for _, delay in answers))  # every late commit has landed
    assert sync(recipe, registry).exit_code == 0
    assert sorted(_one_page_per_key(sandbox, ids["things"])) == [f"k{n}" for n in range(keys)]


def _recipe(n: int, keys: list[str]) -> Recipe:
    work = Path(tempfile.mkdtemp(prefix="ambiguous-"))
    (work / "things.yaml").write_text(THINGS)
    rows = work / "things.jsonl"
    rows.write_text("".join(json.dumps({"key": k, "name": k.upper()}) + "\n" for k in keys))
    path = work / "recipe.yaml"
    path.write_text(RECIPE.format(n=n, path=rows))
    return load_recipe(path, registry=REGISTRY)


def _one_page_per_key(box: Sandbox, data_source_id: str) -> list[str]:
    live = [p for p in pages(box, data_source_id) if not p.get("in_trash")]
    keys = [value(p, "Key") for p in live]
    assert len(keys) == len(set(keys)), f"a sync key has two pages: {sorted(keys)}"
    return keys
