"""The sandbox's SQL database: a seeded file, kept across restarts, SQLite or DuckDB."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from syncfw_sql.sandbox import SqlSandboxDatabase, seed_tables

from syncfw import ConfigError
from syncfw.connector import EmulatorContext
from syncfw.emulation import TLSFiles

assert SqlSandboxDatabase.seed_data is not None
SEED = SqlSandboxDatabase.seed_data


def start(tmp_path: Path, **options: str) -> dict[str, str]:
    context = EmulatorContext(SEED, tmp_path / "state", TLSFiles.in_dir(tmp_path / "tls"), options)
    context.state_dir.mkdir(parents=True, exist_ok=True)
    database = SqlSandboxDatabase()
    env = database.start(context)
    database.stop()
    return env


def count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM customers")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("dialect", ["sqlite", "duckdb"])
def test_the_database_is_seeded_once_and_kept_across_restarts(tmp_path: Path, dialect: str) -> None:
    url = start(tmp_path, sql_database=dialect)["SQL_DATABASE_URL"]
    assert url.startswith(f"{dialect}:///")
    assert count(url) == len(seed_tables(SEED)["customers"][1])
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM customers"))
    engine.dispose()
    assert start(tmp_path, sql_database=dialect)["SQL_DATABASE_URL"] == url
    assert count(url) == 0


def test_bulk_adds_generated_rows_under_new_keys(tmp_path: Path) -> None:
    url = start(tmp_path, bulk="25")["SQL_DATABASE_URL"]
    seeded = seed_tables(SEED)["customers"][1]
    assert count(url) == len(seeded) + 25
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT id FROM customers ORDER BY id")).scalars().all()
    engine.dispose()
    assert len(set(keys)) == len(keys) and keys[-1] == max(int(row["id"]) for row in seeded) + 25


@pytest.mark.parametrize(
    ("option", "expected"),
    [({"sql_database": "mysql"}, "sql_database='mysql': expected one of"), ({"bulk": "many"}, "bulk='many'")],
)
def test_a_bad_option_is_refused(tmp_path: Path, option: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        start(tmp_path, **option)


def test_a_malformed_seed_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"columns": {"id": "varchar"}, "key": "id", "rows": []}')
    with pytest.raises(
        ConfigError, match=r"sql seed file .*bad.json: unknown column type\(s\) \['varchar'\]"
    ):
        seed_tables(tmp_path)
