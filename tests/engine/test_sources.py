"""The mappings' names check, remembered between runs (issue 16: a small run's start-up).

Asking Salesforce to describe itself costs API requests on every run; reading a file's header
loads pandas. A check that passed is remembered until the mapping, the source's config or the
source's schema fingerprint changes (a file's digest), a day passes (sources without one), or a
read fails: a field deleted at the source is still reported at its mapping line with exit 2.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from syncfw.clock import utcnow
from syncfw.engine.sources import NAMES_RECHECK, Sources
from syncfw.plugins import Registry
from syncfw.recipe import Recipe, load_recipe
from syncfw.sandbox.runner import Sandbox
from syncfw.state import open_state
from tests.conftest import RECIPE
from tests.engine.test_sync_end_to_end import init, seed, sync, write_seed
from tests.test_first_hour import FILES_MAPPING, FILES_RECIPE


def salesforce_requests(sandbox: Sandbox) -> int:
    """Requests the Salesforce emulator counted against the org's daily API allowance."""
    return int(sandbox.emulator("salesforce").org.stats.api_requests)  # type: ignore[attr-defined]


def opened(
    recipe: Recipe,
    registry: Registry,
    sandbox: Sandbox,
    *,
    later: timedelta = timedelta(0),
    recheck: bool = False,
) -> int:
    """Salesforce API requests of checking the recipe's sources, ``later`` from now (``recheck``:
    as ``--full-refresh`` does)."""
    before = salesforce_requests(sandbox)
    store = open_state(recipe)
    sources = Sources(recipe, registry, store, clock=lambda: utcnow() + later)
    try:
        sources.open(recheck=recheck)
    finally:
        sources.close()
        store.close()
    return salesforce_requests(sandbox) - before


def test_salesforce_names_are_asked_again_only_a_day_later_or_when_a_read_fails(
    sandbox: Sandbox, registry: Registry, seed_dir: Path, tmp_path: Path
) -> None:
    """The second run asks Salesforce only its limits (no describe); a day later, or with
    ``--full-refresh``, it asks describe again. A custom field deleted at
    the source under the unchanged mapping makes the read fail: the run reports it at its
    mapping line with exit 2, and the next run asks describe again."""
    shutil.copytree(RECIPE.parent, tmp_path / "recipes")
    shutil.copytree(RECIPE.parent.parent / "mappings", tmp_path / "mappings")
    mapping = tmp_path / "mappings" / "salesforce" / "account.yaml"
    mapping.write_text(mapping.read_text() + "  Tier:            {type: select, field: Tier__c}\n")
    line = len(mapping.read_text().splitlines())
    accounts = seed(seed_dir, "Account")
    write_seed(seed_dir, "Account", [{**a, "Tier__c": "Gold"} for a in accounts])
    recipe = load_recipe(tmp_path / "recipes" / RECIPE.name, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    remembered = opened(recipe, registry, sandbox)
    asked = opened(recipe, registry, sandbox, later=NAMES_RECHECK + timedelta(minutes=1))
    assert asked > remembered == opened(recipe, registry, sandbox)
    assert opened(recipe, registry, sandbox, recheck=True) == asked

    write_seed(seed_dir, "Account", accounts)  # Tier__c deleted
    report = sync(recipe, registry)
    assert report.exit_code == 2, report.error
    assert f"account.yaml:{line}:" in (report.error or "") and "Tier__c" in (report.error or "")
    write_seed(seed_dir, "Account", [{**a, "Tier__c": "Gold"} for a in accounts])
    assert opened(recipe, registry, sandbox) == asked


def test_a_file_whose_header_changed_is_checked_again_before_notion_is_read(
    sandbox: Sandbox, registry: Registry, tmp_path: Path
) -> None:
    """The files connector's schema fingerprint is the file's digest: a renamed column is found
    by the next run's names check, at its mapping line, with no Notion request."""
    data = tmp_path / "rows.csv"
    data.write_text("key,name\nk1,One\nk2,Two\n")
    (tmp_path / "rows.yaml").write_text(FILES_MAPPING.format(stream="rows", name="name"))
    path = tmp_path / "recipe.yaml"
    path.write_text(FILES_RECIPE.format(config=json.dumps({"path": str(data), "key": "key"})))
    recipe = load_recipe(path, registry=registry)
    init(recipe)
    assert sync(recipe, registry).exit_code == 0
    assert sync(recipe, registry).exit_code == 0  # the check remembered, the file unchanged

    data.write_text("key,Name\nk1,One\nk2,Two\n")
    report = sync(recipe, registry)
    assert report.exit_code == 2, report.error
    assert "rows.yaml:7:" in (report.error or "") and "did you mean 'Name'?" in (report.error or "")
    assert (report.notion_requests["reads"], report.notion_requests["writes"]) == (0, 0)
