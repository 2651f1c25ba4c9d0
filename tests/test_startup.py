"""Start-up: a command imports only what it uses (issue 16).

What a user notices is the time ``syncfw --version`` or a small run takes before doing anything;
its cause is the set of modules imported. pandas with pyarrow (the files connector), apprise
(alerts), the emulators' web stack (Starlette, uvicorn) and the source client libraries take
seconds and over 100 MiB together. Each test runs the real command line in a fresh interpreter and
lists the heavy modules it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from syncfw.cli import cli
from syncfw.plugins import load_plugins
from syncfw.sandbox.runner import Sandbox
from tests.test_first_hour import FILES_MAPPING, FILES_RECIPE, SYNCFW
from tests.test_plugins import GOOD, install

REPO = Path(__file__).resolve().parents[1]

HEAVY = (
    "pandas",
    "pyarrow",
    "apprise",
    "starlette",
    "uvicorn",
    "syncfw.emulation",
    "syncfw.sandbox",
    "simple_salesforce",
    "zenpy",
    "hubspot",
    "syncfw_files",
    "syncfw_salesforce",
    "syncfw_zendesk",
    "syncfw_hubspot",
    "jinja2",
)
"""Top-level names (or syncfw packages) of the modules that make start-up slow (Jinja2 is loaded
by the first template or expression of a mapping)."""

ENGINE = (
    "syncfw.engine",
    "syncfw.state",
    "syncfw.notion",
    "syncfw.health",
    "syncfw.recipe",
    "syncfw.mapping",
)
"""What a run needs (with the libraries below it) and ``syncfw --version`` or ``--help`` do not."""

PROBE = """
import json, sys
from syncfw.cli import main
heavy = tuple(json.loads(sys.argv[2]))
sys.argv = ["syncfw", *json.loads(sys.argv[1])]
code = 0
try:
    main()
except SystemExit as exc:
    code = exc.code or 0
loaded = {".".join(m.split(".")[:2]) if m.startswith("syncfw.") else m.split(".")[0] for m in sys.modules}
print(json.dumps([code, sorted(loaded & set(heavy))]), file=sys.stderr)
"""


def heavy_imports(
    *args: str, env: dict[str, str] | None = None, heavy: tuple[str, ...] = HEAVY, cwd: Path = REPO
) -> list[str]:
    """The ``heavy`` modules that ``syncfw ARGS`` imported, in a fresh interpreter (which must exit 0)."""
    environ = {k: v for k, v in os.environ.items() if k != "SYNCFW_LOAD_PLUGINS"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(heavy)],
        cwd=cwd,
        env={**environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert code == 0, result.stderr
    return list(loaded)


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_syncfw_version_and_help_import_no_engine_pandas_apprise_web_stack_or_connector(option: str) -> None:
    heavy = (*HEAVY, *ENGINE, "httpx", "notion_client", "ruamel", "pydantic", "tenacity", "pluggy")
    assert heavy_imports(option, heavy=heavy) == []


@pytest.mark.parametrize("width", [80, 200, 40])
def test_syncfw_help_lists_each_commands_own_short_help(width: int) -> None:
    """``syncfw --help`` lists the short help kept beside each command's module path; it is what
    click would show from the commands themselves (imported here), at any terminal width."""
    ctx = click.Context(cli)
    listed, real = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    cli.format_commands(ctx, listed)
    click.Group.format_commands(cli, ctx, real)
    assert listed.getvalue() == real.getvalue()
    assert "validate" in listed.getvalue()


def test_a_recipe_loads_only_the_plugins_of_its_connectors() -> None:
    """``recipes/salesforce-accounts.yaml`` reads Salesforce: the files connector (pandas),
    the connectors' clients (simple-salesforce is loaded at the first Salesforce request), the
    emulators and apprise stay out; its contacts' mapping has templates (Jinja2)."""
    env = {
        "NOTION_TOKEN": "secret_startup_test",
        "NOTION_PARENT_PAGE_ID": "0" * 32,
        "SALESFORCE_INSTANCE_URL": "https://acme.my.salesforce.com",
        "SALESFORCE_SESSION_ID": "00Dstartup!test",
    }
    loaded = heavy_imports("validate", "recipes/salesforce-accounts.yaml", env=env)
    assert loaded == ["jinja2", "syncfw_salesforce"]


def test_a_files_recipe_is_validated_without_pandas(tmp_path: Path) -> None:
    """The files connector loads pandas and pyarrow (half a second, 140 MiB) when it opens the
    file, not with the connector: ``validate`` never opens it. Its mapping has no template: no Jinja2."""
    (tmp_path / "deals.csv").write_text("key,name\n1,Acme\n")
    (tmp_path / "rows.yaml").write_text(FILES_MAPPING.format(stream="rows", name="name"))
    (tmp_path / "recipe.yaml").write_text(FILES_RECIPE.format(config="{path: deals.csv, key: key}"))
    loaded = heavy_imports("validate", str(tmp_path / "recipe.yaml"), env={"NOTION_TOKEN": "secret_x"})
    assert loaded == ["syncfw_files"]


def test_on_demand_plugins_load_the_named_entry_point_first_and_still_find_any_connector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recipe's connector loads its own plugin only; a connector whose entry point has another
    name (a third party's ``syncfw_things`` registering ``things``) is still found."""
    install(tmp_path, monkeypatch, "syncfw_things", GOOD)
    monkeypatch.delenv("SYNCFW_LOAD_PLUGINS", raising=False)
    registry = load_plugins(on_demand=True)
    assert registry.connector("salesforce").name == "salesforce"
    assert {p.name for p in registry.plugins} == {"syncfw", "salesforce"}
    assert registry.connector("things").maturity == "alpha"
    assert {"syncfw_things", "zendesk"} <= {p.name for p in registry.plugins}


def test_a_no_change_run_over_an_unchanged_file_loads_no_pandas(sandbox: Sandbox, tmp_path: Path) -> None:
    """The file's digest in the cursor and the remembered names check: a run over the same CSV
    file reads nothing and never imports pandas or pyarrow; once the file changes, the next run
    reads it (with pandas) and writes the change. About 8 s."""
    data = tmp_path / "rows.csv"
    data.write_text("key,name\nk1,One\nk2,Two\n")
    (tmp_path / "rows.yaml").write_text(FILES_MAPPING.format(stream="rows", name="name"))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(FILES_RECIPE.format(config=json.dumps({"path": str(data), "key": "key"})))
    for command in (["notion", "init"], ["run"]):
        done = subprocess.run(
            [*SYNCFW, *command, str(recipe)], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
    assert "pandas" not in heavy_imports("run", str(recipe), "--quiet", cwd=tmp_path)
    data.write_text("key,name\nk1,One\nk2,Deux\n")
    assert {"pandas", "pyarrow"} <= set(heavy_imports("run", str(recipe), "--quiet", cwd=tmp_path))
    assert sandbox.notion is not None
    titles = {
        "".join(t["plain_text"] for t in page["properties"]["Name"]["title"])
        for entry in sandbox.notion.dump()["data_sources"]
        for page in entry["pages"]
        if "title" in page["properties"].get("Name", {})
    }
    assert {"One", "Deux"} <= titles and "Two" not in titles


READ = """
import sys
from pathlib import Path
from syncfw_files import FilesConfig, FilesConnector
connector = FilesConnector(FilesConfig(path=Path(sys.argv[1]), key="key"))
connector.check()
records = [item for item in connector.read("rows", None, ["name"]) if hasattr(item, "key")]
assert len(records) == 2, records
print("pyarrow.parquet" in sys.modules)
"""


def test_pyarrow_s_parquet_reader_is_loaded_for_parquet_files_only(tmp_path: Path) -> None:
    """pandas imports pyarrow itself, but not pyarrow's Parquet reader (10 MiB more): a CSV read
    leaves it out, a Parquet read loads it."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"key": ["1", "2"], "name": ["Acme", "Globex"]})
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.to_parquet(tmp_path / "rows.parquet")
    loaded = {
        name: subprocess.run(
            [sys.executable, "-c", READ, str(tmp_path / name)], capture_output=True, text=True, timeout=120
        )
        for name in ("rows.csv", "rows.parquet")
    }
    assert {name: r.stdout.strip() or r.stderr for name, r in loaded.items()} == {
        "rows.csv": "False",
        "rows.parquet": "True",
    }


def test_the_tls_context_is_built_once_and_again_when_the_ca_file_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's Notion clients (the sync's, the dashboard's) share one TLS context instead of
    reading the CA bundle for each; a CA file rewritten in place (a sandbox restarted with a new
    CA) is trusted by the next client."""
    trustme = pytest.importorskip("trustme")
    from syncfw.notion.client import tls_context

    bundle = tmp_path / "ca.pem"
    first, second = trustme.CA(), trustme.CA()
    first.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    context = tls_context()
    assert tls_context() is context
    second.cert_pem.write_to_path(str(bundle))
    later = bundle.stat().st_mtime_ns + 1_000_000_000  # as a sandbox restarted a second later
    os.utime(bundle, ns=(later, later))
    renewed = tls_context()
    assert renewed is not context
    assert len(renewed.get_ca_certs()) == 1 and renewed.get_ca_certs() != context.get_ca_certs()
