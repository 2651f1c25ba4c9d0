"""The broken-recipe corpus: every case is refused with exit 2 and a located, one-line cause.

Each case is run by the real command line in its own process (see README.md). The processes of
all selected cases are started on first use, one per core at a time, and each test waits for its
own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from syncfw.sandbox.runner import Sandbox

HERE = Path(__file__).resolve().parent
CASES_DIR = HERE / "recipes"
COMMANDS = ("validate", "run")
DUMMY_ENV = {
    "NOTION_TOKEN": "ntn_corpus_dummy_token_0000000000",
    "NOTION_BASE_URL": "http://127.0.0.1:9",
    "NOTION_PARENT_PAGE_ID": "00000000-0000-4000-8000-00000000c0de",
    "SALESFORCE_INSTANCE_URL": "https://127.0.0.1:9",
    "SALESFORCE_SESSION_ID": "00Dcorpus0dummy0session0id0000",
    "SYNCFW_LOAD_PLUGINS": "salesforce",
}
DUMMY_SECRETS = (DUMMY_ENV["NOTION_TOKEN"], DUMMY_ENV["SALESFORCE_SESSION_ID"])
MAX_OUTPUT = 16_000
LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<column>\d+) ")


@dataclasses.dataclass(frozen=True)
class Expected:
    """What ``expected.txt`` of a case says (see README.md)."""

    exit_code: int
    at: str | None
    cause: str
    secrets: tuple[str, ...] = ()
    located: bool = True
    xfail: str | None = None

    @classmethod
    def read(cls, path: Path) -> Expected:
        values: dict[str, list[str]] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                key, _, value = line.partition(":")
                values.setdefault(key.strip(), []).append(value.strip())
        unknown = set(values) - {"exit", "at", "cause", "secret", "located", "xfail"}
        assert not unknown, f"{path}: unknown keys {unknown}"
        return cls(
            exit_code=int(values["exit"][0]),
            at=values.get("at", [None])[0],
            cause=values["cause"][0],
            secrets=tuple(values.get("secret", [])),
            located=values.get("located", ["yes"])[0] != "no",
            xfail=values.get("xfail", [None])[0],
        )


CASES = {path.parent.name: Expected.read(path) for path in sorted(CASES_DIR.glob("*/expected.txt"))}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One command's exit code, output, and what it left in its working directory."""

    returncode: int
    stdout: str
    stderr: str
    left_behind: list[str]


def _environment() -> dict[str, str]:
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("NOTION_", "SALESFORCE_", "SYNCFW_"))
    }
    return {**inherited, **DUMMY_ENV}


def _syncfw(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Outcome:
    """``python -m syncfw.cli ARGS...`` in ``cwd``, with the dummy environment (and ``env``)."""
    result = subprocess.run(
        [sys.executable, "-m", "syncfw.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        env={**_environment(), **(env or {})},
        cwd=cwd,
        timeout=120,
    )
    return Outcome(result.returncode, result.stdout, result.stderr, sorted(os.listdir(cwd)))


class Runs:
    """The processes of the selected cases, started on first use."""

    def __init__(self, wanted: list[tuple[str, str]], workdir: pytest.TempPathFactory) -> None:
        self._wanted = wanted
        self._workdir = workdir
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[tuple[str, str], Future[Outcome]] = {}

    def outcome(self, case: str, command: str) -> Outcome:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max(2, os.cpu_count() or 2))
            for key in self._wanted:
                self._submit(*key)
        if (case, command) not in self._futures:
            self._submit(case, command)
        return self._futures[case, command].result()

    def _submit(self, case: str, command: str) -> None:
        assert self._pool is not None
        cwd = self._workdir.mktemp(f"{case}-{command}")
        # validate checks the environment's values only when asked, as run always does
        options = ("--check-env",) if command == "validate" else ()
        self._futures[case, command] = self._pool.submit(
            _syncfw, cwd, command, *options, str(CASES_DIR / case / "recipe.yaml")
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    wanted = []
    for item in request.session.items:  # the tests left after -k and friends
        callspec = getattr(item, "callspec", None)
        if item.path == Path(__file__) and callspec is not None and "case" in callspec.params:
            wanted.append((callspec.params["case"], callspec.params["command"]))
    started = Runs(wanted, tmp_path_factory)
    yield started
    started.close()


def _params() -> list[object]:
    params: list[object] = []
    for case, expected in CASES.items():
        marks = [pytest.mark.xfail(strict=True, reason=expected.xfail)] if expected.xfail else []
        params += [pytest.param(case, command, marks=marks, id=f"{case}-{command}") for command in COMMANDS]
    return params


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert all(expected.exit_code == 2 for expected in CASES.values())


def test_the_unbroken_base_is_valid(tmp_path: Path) -> None:
    outcome = _syncfw(tmp_path, "validate", str(HERE / "base" / "recipe.yaml"))

    assert outcome.returncode == 0, outcome.stderr
    assert outcome.left_behind == []


def test_a_refused_run_leaves_notion_as_it_was(sandbox: Sandbox, tmp_path: Path) -> None:
    """A real sandbox: the unbroken recipe fills Notion, then refused runs must not touch it."""
    assert sandbox.notion is not None
    env = {**sandbox.env, "SYNCFW_LOAD_PLUGINS": "salesforce"}
    base = str(HERE / "base" / "recipe.yaml")
    assert _syncfw(tmp_path, "notion", "init", base, env=env).returncode == 0
    filled = _syncfw(tmp_path, "run", base, "--notion-rate-limit", "200", env=env)
    assert filled.returncode == 0, filled.stderr
    assert sandbox.notion.stats()["by_endpoint"].get("POST /v1/pages", 0) > 0
    before = sandbox.notion.dump()
    sandbox.notion.reset_stats()

    for case in ("recipe-bad-cron", "owner-two-mappings-one-property", "connector-two-auth-modes"):
        refused = _syncfw(tmp_path, "run", str(CASES_DIR / case / "recipe.yaml"), env=env)
        assert refused.returncode == 2, refused.stderr

    assert sandbox.notion.stats()["requests"] == 0
    assert sandbox.notion.dump() == before


@pytest.mark.parametrize(("case", "command"), _params())
def test_broken_recipe_is_refused_with_a_located_cause(runs: Runs, case: str, command: str) -> None:
    expected = CASES[case]
    outcome = runs.outcome(case, command)
    output = outcome.stdout + outcome.stderr
    case_dir = str(CASES_DIR / case) + os.sep

    assert "Traceback" not in output, output[-3000:]
    assert outcome.returncode == expected.exit_code, output[-3000:]
    assert len(output) < MAX_OUTPUT, f"{len(output)} characters of output"
    assert outcome.stdout.strip() == ""
    for secret in (*DUMMY_SECRETS, *expected.secrets):
        assert secret not in output
    assert outcome.left_behind == [], "a refused recipe must not create state"
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    if expected.located:
        for line in lines:
            located = LOCATED.match(line)
            assert located, f"no file:line:col in {line!r}"
            assert located["file"].startswith(case_dir), f"{located['file']} is not a file of the case"
    where = _where(case_dir, expected.at)
    assert any(where.match(line) and expected.cause in line for line in lines), output


def _where(case_dir: str, at: str | None) -> re.Pattern[str]:
    """The start of the problem line ``at`` names: ``file[:line[:col]] [key.path]``."""
    if at is None:
        return re.compile("")
    parsed = re.fullmatch(r"(?P<file>[^:\s]+)(?::(?P<line>\d+)(?::(?P<column>\d+))?)?(?: (?P<path>.+))?", at)
    assert parsed, f"malformed at: {at!r}"
    number = r"\d+"
    return re.compile(
        re.escape(case_dir + parsed["file"])
        + f":{parsed['line'] or number}:{parsed['column'] or number} "
        + (re.escape(parsed["path"]) + ":" if parsed["path"] else "")
    )
