"""What a read yields for each column type, what a bad row or a refused connection says, and that
rows come through a server-side cursor a batch at a time. Real SQLite and PostgreSQL databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from syncfw_sql import SqlConfig, SqlConnector
from tenacity import wait_none

from syncfw import SourceAuthError, SourceError, SourceUnavailable
from syncfw.connector import Checkpoint, Record
from tests.conftest import postgres_database, postgres_url  # noqa: F401  (the throwaway server)
from tests.servers import PASSWORD, free_port


def connector(url: str, stream: dict[str, Any], **config: Any) -> SqlConnector:
    return SqlConnector(SqlConfig.model_validate({"url": url, "streams": {"rows": stream}, **config}))


def read(
    url: str, stream: dict[str, Any], fields: tuple[str, ...] = (), **config: Any
) -> list[Record | Checkpoint]:
    source = connector(url, stream, **config)
    try:
        return list(source.read("rows", None, fields))
    finally:
        source.close()


def records(items: list[Record | Checkpoint]) -> dict[str, Record]:
    return {item.key: item for item in items if isinstance(item, Record)}


@pytest.fixture
def postgres(postgres_database: str) -> Iterator[str]:  # noqa: F811
    url = (
        sa.make_url(postgres_database)
        .set(drivername="postgresql+psycopg")
        .render_as_string(hide_password=False)
    )
    yield url


def execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_postgresql_types_become_what_mappings_expect(postgres: str) -> None:
    key = uuid.UUID("5f0e8a8e-8f0c-4c39-9a37-51d5c1c1f001")
    execute(
        postgres,
        "CREATE TABLE t (id uuid PRIMARY KEY, changed timestamptz NOT NULL, local timestamp, day date,"
        " price numeric(12,2), whole numeric(12,2), paid boolean, note text, extra jsonb, took interval)",
        f"INSERT INTO t VALUES ('{key}', '2026-05-01 09:30:00+00', '2026-05-01 09:30:00', '2026-04-30',"
        " 12.50, 100.00, true, NULL, '{\"tier\": \"gold\"}', '90 minutes')",
    )
    stream = {"table": "t", "key": "id", "updated_at": "changed"}
    [record] = records(read(postgres, stream, timezone="Europe/Paris")).values()
    assert record.key == str(key)
    assert record.data == {
        "id": str(key),
        "changed": "2026-05-01T09:30:00+00:00",
        "local": "2026-05-01T09:30:00+02:00",  # stored without a zone: read in the config's timezone
        "day": "2026-04-30",
        "price": 12.5,
        "whole": 100,
        "paid": True,
        "note": None,
        "extra": {"tier": "gold"},
        "took": "PT5400S",
    }


def test_sqlite_text_timestamps_are_read_in_the_configured_zone_and_read_incrementally(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    execute(
        url,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, changed TIMESTAMP, active BOOLEAN, seen DATETIME)",
        "INSERT INTO t VALUES (1, 'a', '2026-05-01 09:00:00', 1, '2026-04-01T08:00:00Z'),"
        " (2, 'b', '2026-05-01 10:00:00', 0, NULL)",
    )
    stream = {"table": "t", "key": "id", "updated_at": "changed"}
    items = read(url, stream, timezone="America/New_York")
    assert {k: r.data["changed"] for k, r in records(items).items()} == {
        "1": "2026-05-01T09:00:00-04:00",
        "2": "2026-05-01T10:00:00-04:00",
    }
    assert records(items)["1"].data["seen"] == "2026-04-01T08:00:00+00:00"  # a zone of its own is kept
    assert records(items)["2"].data["seen"] is None
    assert records(items)["2"].data["active"] == 0  # SQLite's booleans are 0/1, which checkboxes take
    final = items[-1]
    assert isinstance(final, Checkpoint)
    execute(url, "INSERT INTO t VALUES (3, 'c', '2026-05-01 11:00:00', 1, NULL)")
    source = connector(url, stream, timezone="America/New_York")
    try:
        after = list(source.read("rows", final.cursor, ()))
    finally:
        source.close()
    assert list(records(after)) == ["3"]


def test_a_binary_value_is_refused_naming_stream_key_and_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    execute(
        url,
        "CREATE TABLE t (id TEXT, changed TEXT, logo BLOB)",
        "INSERT INTO t VALUES ('A-1', '2026-05-01', x'00ff')",
    )
    with pytest.raises(SourceError) as caught:
        read(url, {"table": "t", "key": "id", "updated_at": "changed"}, ("logo",))
    message = str(caught.value)
    assert message.startswith("stream 'rows', key 'A-1': column 'logo': holds binary data")


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("(NULL, '2026-05-01 09:00:00')", "no value in its key column 'id'"),
        ("('A-1', NULL)", "key 'A-1': updated_at column 'changed': it is NULL"),
        ("('A-1', '42')", "key 'A-1': column 'changed': '42' is not an ISO 8601 date-time"),
    ],
)
def test_a_row_without_key_or_stamp_stops_the_read_naming_the_stream(
    tmp_path: Path, row: str, expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    execute(url, "CREATE TABLE t (id TEXT, changed TEXT)", f"INSERT INTO t VALUES {row}")
    with pytest.raises(SourceError, match="stream 'rows'") as caught:
        read(url, {"table": "t", "key": "id", "updated_at": "changed"})
    assert expected in str(caught.value)


def test_a_missing_column_or_table_is_a_clear_source_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    execute(url, "CREATE TABLE t (id TEXT, changed TEXT)")
    with pytest.raises(
        SourceError, match=r"stream 'rows' has no column 'name' \(it has \['id', 'changed'\]\)"
    ):
        read(url, {"table": "t", "key": "id", "updated_at": "changed"}, ("name",))
    with pytest.raises(SourceError, match="the soft_delete column 'gone' is not among its columns"):
        connector(url, {"table": "t", "key": "id", "soft_delete": "gone"}).check()
    with pytest.raises(
        SourceError, match=r"sqlite database '.*app.db': connecting failed: no such table: nope"
    ):
        connector(url, {"table": "nope", "key": "id"}).check()


def test_refused_credentials_name_the_database_never_the_url_or_password(postgres: str) -> None:
    wrong = sa.make_url(postgres).set(password="Not-The-Password-123")
    source = connector(wrong.render_as_string(hide_password=False), {"table": "t", "key": "id"})
    with pytest.raises(SourceAuthError) as caught:
        source.check()
    message = str(caught.value)
    assert message.startswith(f"postgresql database {wrong.database!r} on 127.0.0.1:{wrong.port}: ")
    assert "password authentication failed" in message
    for secret in ("Not-The-Password-123", PASSWORD, "postgres:"):
        assert secret not in message


class QuickRetries(SqlConnector):
    retry_attempts = 2
    retry_wait = wait_none()


def test_an_unreachable_server_is_retried_then_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    url = f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:{free_port()}/app"
    source = QuickRetries(
        SqlConfig.model_validate({"url": url, "streams": {"rows": {"table": "t", "key": "id"}}})
    )
    with pytest.raises(SourceUnavailable, match="connecting failed after 2 tries") as caught:
        source.check()
    assert PASSWORD not in str(caught.value) and PASSWORD not in caplog.text
    assert "retrying" in caplog.text


def test_rows_come_through_a_server_side_cursor_a_batch_at_a_time(postgres: str) -> None:
    execute(
        postgres,
        "CREATE TABLE t (id int PRIMARY KEY, changed timestamptz NOT NULL)",
        "INSERT INTO t SELECT n, '2026-05-01'::timestamptz + n * interval '1 minute' FROM generate_series(1, 10) n",
    )
    source = connector(postgres, {"table": "t", "key": "id", "updated_at": "changed"}, batch_size=4)
    items = source.read("rows", None, ())
    first = [next(items) for _ in range(5)]
    assert [type(item).__name__ for item in first] == ["Record"] * 4 + ["Checkpoint"]
    # paused after one batch: the connector's session holds an open cursor and fetches 4 rows at a time
    engine = sa.create_engine(postgres)
    try:
        with engine.connect() as connection:
            queries = (
                connection.execute(
                    sa.text(
                        "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert any(query.startswith("FETCH FORWARD") for query in queries), queries
    rest = list(items)
    source.close()
    checkpoints = [i for i, item in enumerate(first + rest) if isinstance(item, Checkpoint)]
    assert checkpoints == [4, 9, 12]  # after 4, 8 and the last 2 records


def test_a_stream_without_updated_at_is_read_in_full_each_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    execute(
        url,
        "CREATE TABLE t (code TEXT PRIMARY KEY, label TEXT, retired BOOLEAN)",
        "INSERT INTO t VALUES ('b', 'Bee', 0), ('a', 'Ay', 0), ('c', 'See', 1)",
    )
    stream = {"table": "t", "key": "code", "soft_delete": "retired"}
    items = read(url, stream, ("label",), batch_size=1)
    assert [type(item).__name__ for item in items] == ["Record"] * 3 + ["Checkpoint"]
    assert [(r.key, r.deleted) for r in records(items).values()] == [("a", False), ("b", False), ("c", True)]
    final = items[-1]
    assert isinstance(final, Checkpoint)
    source = connector(url, stream)
    try:
        assert list(records(list(source.read("rows", final.cursor, ("label",))))) == ["a", "b", "c"]
        assert list(source.scan_keys("rows")) == ["b", "a"]  # the soft-deleted row is left out
    finally:
        source.close()


def test_a_table_in_another_schema(postgres: str) -> None:
    execute(
        postgres,
        "CREATE SCHEMA crm",
        "CREATE TABLE crm.accounts (id int PRIMARY KEY, name text, changed timestamptz NOT NULL)",
        "INSERT INTO crm.accounts VALUES (7, 'Acme', '2026-05-01 09:00:00+00')",
    )
    stream = {"table": "accounts", "schema": "crm", "key": "id", "updated_at": "changed"}
    assert {k: r.data["name"] for k, r in records(read(postgres, stream, ("name",))).items()} == {"7": "Acme"}
