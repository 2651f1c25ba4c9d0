"""The acceptance checks every connector runs, as a pytest test class: :func:`connector_tests`.

Each check starts the connector's emulator through its :class:`ConnectorHarness` in a fresh
temporary directory, builds the connector exactly as a recipe would
(``connector_class(connector_class.config_model(**harness.config()))``, a new one for every call,
as every run of a recipe does), and fails with a message that says what the connector did wrong.
Reads are materialised into lists before anything is compared, and every check that compares
reads first requires the full read to yield at least one record, so no check passes by
comparing nothing.
"""

from __future__ import annotations

import inspect
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import pytest

from syncfw.connector import Checkpoint, Connector, Record
from syncfw.errors import SourceAuthError, SourceError
from syncfw.testing.calls import (
    SHORTEST_SECRET,
    KitSource,
    compare_scan,
    fail,
    lookup,
    message_problems,
    secret_values,
    within,
)
from syncfw.testing.harness import ConnectorHarness

RATE_LIMITED_REQUESTS = 2
"""How many requests in a row the rate-limit check has the emulator refuse."""


class ConnectorKit:
    """The kit's checks; :func:`connector_tests` makes a subclass bound to one harness.

    Checks that take a ``stream`` run once per stream in ``harness_class.streams``.
    """

    harness_class: ClassVar[type[ConnectorHarness]]

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Run stream checks once per stream the harness names."""
        if "stream" in metafunc.fixturenames:
            metafunc.parametrize("stream", self.harness_class.streams)

    @pytest.fixture
    def kit(self, tmp_path: Path) -> Iterator[KitSource]:
        """The harness started in a temporary directory; stopped however the check ends."""
        harness = self.harness_class()
        try:
            harness.start(tmp_path)
            yield KitSource(harness)
        finally:
            harness.stop()

    # credentials

    def test_check_accepts_valid_credentials(self, kit: KitSource) -> None:
        """``check()`` returns normally when the source answers and accepts the credentials."""
        connector = kit.connector()
        try:
            kit.call(
                "check() with valid credentials",
                connector.check,
                hint="check() must return None when the source answers and accepts the credentials",
            )
        finally:
            connector.close()

    def test_check_refuses_bad_credentials_clearly(self, kit: KitSource) -> None:
        """``check()`` with refused credentials raises SourceAuthError with a clean message (with
        ``has_credentials = False``: an unusable config raises a clean SourceError)."""
        refused = kit.config(valid_credentials=False)
        secrets = secret_values(kit.config()) | secret_values(refused)
        connector = kit.connector_class(refused)
        if type(kit.harness).has_credentials:
            what = f"{kit.label}: check() with credentials the source refuses"
            expected: type[SourceError] = SourceAuthError
            fix = "raise SourceAuthError for refused credentials so the user knows to fix them"
            refusal = "the credentials"
        else:
            what = (
                f"{kit.label}: check() with a config it cannot use (harness.config(valid_credentials=False))"
            )
            expected = SourceError
            fix = "raise syncfw.errors.SourceError saying what is wrong with the config"
            refusal = "the config"
        try:
            within(type(kit.harness).timeout_seconds, what, connector.check)
        except expected as exc:
            error: SourceError = exc
        except SourceError as exc:
            fail(f"{what} raised {type(exc).__name__} ({exc}), not syncfw.errors.{expected.__name__}: {fix}")
        except Exception as exc:
            fail(
                f"{what} raised {type(exc).__name__} ({exc}), not syncfw.errors.{expected.__name__}: translate "
                "the source's refusal (e.g. HTTP 401) into SourceAuthError with a message saying what to fix"
            )
        else:
            fail(
                f"{what} returned normally: check() must call the source and raise "
                f"syncfw.errors.{expected.__name__} when it refuses {refusal}"
            )
        finally:
            connector.close()
        problems = message_problems(str(error), secrets)
        if problems:
            shown = str(error)
            for secret in secrets:
                if len(secret) >= SHORTEST_SECRET:
                    shown = shown.replace(secret, "<secret>")
            fail(
                f"{what} raised {type(error).__name__}, but {'; '.join(problems)}. Users see this message "
                f"as is: {shown[:300]!r}"
            )

    def test_config_holds_credentials_as_secrets(self, kit: KitSource) -> None:
        """The config model keeps credentials in ``SecretStr``, hidden from its repr and JSON."""
        harness_class = type(kit.harness)
        if not harness_class.has_credentials:
            pytest.skip(f"{harness_class.__name__}.has_credentials is False (see its docstring)")
        model_name = kit.connector_class.config_model.__name__
        for valid in (True, False):
            config = kit.config(valid_credentials=valid)
            secrets = secret_values(config)
            if not secrets:
                fail(
                    f"{model_name} holds no SecretStr value in harness.config(valid_credentials={valid}): "
                    "declare credential fields (tokens, passwords, keys) as pydantic.SecretStr so they "
                    "stay out of logs, plans and error messages"
                )
            shown = {"repr": repr(config), "str": str(config), "JSON": config.model_dump_json()}
            for form, text in shown.items():
                if any(secret in text for secret in secrets if len(secret) >= SHORTEST_SECRET):
                    fail(f"{model_name}'s {form} shows a secret value: keep credentials in SecretStr")

    # streams and records

    def test_stream_declares_key_and_cursor(self, kit: KitSource, stream: str) -> None:
        """``stream(name)`` names the stream, its primary key and its cursor field."""
        spec = kit.spec(stream)
        if spec.name != stream:
            fail(f"{kit.label}: stream({stream!r}) describes a stream named {spec.name!r}")
        if not (isinstance(spec.primary_key, str) and spec.primary_key):
            fail(f"{kit.label}: stream({stream!r}) declares no primary key ({spec.primary_key!r})")
        if not (isinstance(spec.cursor_field, str) and spec.cursor_field):
            fail(
                f"{kit.label}: stream({stream!r}) declares no cursor field (cursor_field="
                f"{spec.cursor_field!r}): name the field incremental reads order by (e.g. updated_at)"
            )
        declared = {name.split(".")[0] for name in spec.fields}
        for role, field in (("primary key", spec.primary_key), ("cursor field", spec.cursor_field)):
            if spec.fields and field.split(".")[0] not in declared:
                fail(
                    f"{kit.label}: stream({stream!r}) declares the {role} {field!r}, which is not among "
                    f"its fields {list(spec.fields)[:20]}"
                )

    def test_records_carry_non_null_unique_keys(self, kit: KitSource, stream: str) -> None:
        """Every record of a full read has a non-empty string key, unique in the read, equal to
        its primary-key field; and carries its cursor field."""
        spec = kit.spec(stream)
        result = kit.full_read(stream)
        for record in result.records:
            if not isinstance(record.key, str) or not record.key.strip():
                fail(
                    f"{result.what} yielded a record with key {record.key!r}: Record.key must be the "
                    f"non-empty string value of the primary key {spec.primary_key!r}"
                )
            if not isinstance(record.data, Mapping):
                fail(
                    f"{result.what} yielded record {record.key!r} whose data is {type(record.data).__name__}, not a mapping"
                )
            value = lookup(record.data, spec.primary_key)
            if value is None or str(value) != record.key:
                fail(
                    f"{result.what} yielded record {record.key!r} whose {spec.primary_key!r} field is "
                    f"{value!r}: Record.key must equal the record's primary key, which reads always include"
                )
            if spec.cursor_field and lookup(record.data, spec.cursor_field) is None:
                fail(
                    f"{result.what} yielded record {record.key!r} without a value for its cursor field "
                    f"{spec.cursor_field!r}, which reads always include"
                )
        duplicates = sorted(key for key, count in Counter(result.keys).items() if count > 1)
        if duplicates:
            fail(
                f"{result.what} yielded {len(duplicates)} key(s) more than once, e.g. {duplicates[:5]}: "
                "each record appears once in a read (check paging: offsets that shift, overlapping pages)"
            )

    def test_every_read_ends_with_a_checkpoint(self, kit: KitSource, stream: str) -> None:
        """A full read, an incremental read with a new record and one with none all end with a checkpoint."""
        full = kit.full_read(stream)
        kit.harness.add_record(stream)
        incremental = kit.read(stream, full.final_cursor())
        kit.read(stream, incremental.final_cursor()).final_cursor()

    def test_checkpoints_never_run_ahead_of_records(self, kit: KitSource, stream: str) -> None:
        """Resuming from any checkpoint of a full read yields exactly the records that followed it."""
        full = kit.full_read(stream)
        full.final_cursor()
        positions = [index for index, item in enumerate(full.items) if isinstance(item, Checkpoint)]
        if len(positions) < 2:
            pytest.skip(
                f"{full.what} yielded a single checkpoint, so there is no checkpoint between records "
                "to resume from: seed more records than one page holds (or configure a smaller page)"
            )
        for number, position in enumerate(positions, start=1):
            checkpoint = full.items[position]
            assert isinstance(checkpoint, Checkpoint)
            after = {item.key for item in full.items[position + 1 :] if isinstance(item, Record)}
            before = {item.key for item in full.items[:position] if isinstance(item, Record)} - after
            resumed = kit.read(stream, checkpoint.cursor)
            got = set(resumed.keys)
            lost = sorted(after - got)
            if lost:
                fail(
                    f"{full.what}: resuming from checkpoint {number} of {len(positions)} did not yield "
                    f"{len(lost)} record(s) the full read yielded after it, e.g. {lost[:5]}: a checkpoint "
                    "must not cover records not yet yielded (the engine would skip them)"
                )
            repeated = sorted(got & before)
            if repeated:
                fail(
                    f"{full.what}: resuming from checkpoint {number} of {len(positions)} yielded again "
                    f"{len(repeated)} record(s) yielded before it, e.g. {repeated[:5]}: a read resumes "
                    "right after the records its checkpoint covers"
                )

    # incremental reads

    def test_incremental_read_returns_only_new_or_changed_records(self, kit: KitSource, stream: str) -> None:
        """Reads from the previous read's checkpoint yield nothing when nothing changed, then
        exactly the added and the changed record."""
        first = kit.full_read(stream)
        second = kit.read(stream, first.final_cursor())
        if second.records:
            fail(
                f"{second.what}, the final checkpoint of the read before, yielded {len(second.records)} "
                f"record(s) although nothing changed at the source, e.g. {sorted(set(second.keys))[:5]}: "
                "the cursor must resume after every record already delivered"
            )
        added = kit.harness.add_record(stream)
        changed = kit.harness.change_record(stream)
        third = kit.read(stream, second.final_cursor())
        expected = {added, changed}
        unexpected = sorted(set(third.keys) - expected)
        if unexpected:
            fail(
                f"{third.what} yielded {len(unexpected)} record(s) that did not change since that "
                f"checkpoint, e.g. {unexpected[:5]} (only {sorted(expected)} were added or changed): "
                "incremental reads must filter by the cursor"
            )
        missing = sorted(expected - set(third.keys))
        if missing:
            fail(
                f"{third.what} did not yield {missing}, added or changed at the source after that "
                "checkpoint: incremental reads must include every record whose cursor field moved past it"
            )
        repeated = sorted(key for key, count in Counter(third.keys).items() if count > 1)
        if repeated:
            fail(f"{third.what} yielded {repeated} more than once")

    def test_incremental_read_includes_a_changed_record(self, kit: KitSource, stream: str) -> None:
        """After ``change_record``, a read from the last checkpoint yields the new version of it."""
        spec = kit.spec(stream)
        first = kit.full_read(stream)
        key = kit.harness.change_record(stream)
        old = [record for record in first.records if record.key == key]
        if not old:
            fail(
                f"harness bug: change_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        result = kit.read(stream, first.final_cursor())
        new = [record for record in result.records if record.key == key]
        if not new:
            fail(
                f"{result.what} did not yield record {key!r}, changed at the source after that checkpoint: "
                "incremental reads must include records whose cursor field moved past the cursor"
            )
        if new[-1].deleted:
            fail(f"{result.what} reported the changed record {key!r} as deleted")
        field = spec.cursor_field
        if field and lookup(new[-1].data, field) == lookup(old[-1].data, field):
            fail(
                f"{result.what} yielded record {key!r} with the {field!r} it had before the change "
                f"({lookup(old[-1].data, field)!r}): the connector returned a stale version "
                "(or the harness's change_record does not move the cursor field forward)"
            )

    def test_incremental_read_includes_an_added_record(self, kit: KitSource, stream: str) -> None:
        """After ``add_record``, a read from the last checkpoint yields the new record."""
        first = kit.full_read(stream)
        key = kit.harness.add_record(stream)
        if key in first.keys:
            fail(f"harness bug: add_record({stream!r}) returned {key!r}, a key the full read already yielded")
        result = kit.read(stream, first.final_cursor())
        new = [record for record in result.records if record.key == key]
        if not new:
            fail(
                f"{result.what} did not yield record {key!r}, created at the source after that checkpoint: "
                "incremental reads must include new records, not only changes to known ones"
            )
        if new[-1].deleted:
            fail(f"{result.what} reported the new record {key!r} as deleted")

    def test_incremental_read_delivers_a_late_record(self, kit: KitSource, stream: str) -> None:
        """After ``add_late_record`` (a record visible only now, with a cursor value older than the
        newest record already read), a read from the last checkpoint yields it: the look-back.
        Skipped when the harness says the source makes changes visible in cursor order."""
        first = kit.full_read(stream)
        cursor = first.final_cursor()
        key = kit.harness_change(kit.harness.add_late_record, stream)
        if key in first.keys:
            fail(
                f"harness bug: add_late_record({stream!r}) returned {key!r}, a key the full read already "
                "yielded"
            )
        result = kit.read(stream, cursor)
        late = [record for record in result.records if record.key == key]
        if not late:
            fail(
                f"{result.what} did not yield record {key!r}, which became visible at the source after "
                "that checkpoint with a cursor value older than records already read (harness."
                "add_late_record): read each increment from a look-back window before the cursor, or "
                "such a change is never delivered"
            )
        if late[-1].deleted:
            fail(f"{result.what} reported the late record {key!r} as deleted")

    def test_checkpoint_from_the_future_yields_nothing(self, kit: KitSource, stream: str) -> None:
        """A cursor later than every record (``harness.future_cursor``) yields no record, then a
        checkpoint that still yields nothing."""
        final = kit.full_read(stream).final_cursor()
        try:
            future = kit.harness.future_cursor(stream, final)
        except ValueError as exc:
            fail(f"the kit cannot make a cursor from the future for stream {stream!r}: {exc}")
        if future == final:
            fail(f"harness bug: future_cursor({stream!r}, ...) returned the cursor unchanged")
        hint = "a cursor later than every record (the source's clock may be behind ours) must yield nothing"
        result = kit.read(stream, future, hint=hint)
        if result.records:
            fail(
                f"{result.what}, a cursor later than every record, yielded {len(result.records)} "
                f"record(s), e.g. {sorted(set(result.keys))[:5]}: the connector ignores or resets a "
                "cursor ahead of the data; it must yield nothing"
            )
        again = kit.read(stream, result.final_cursor(), hint=hint)
        if again.records:
            fail(
                f"{again.what}, the checkpoint of a read from a cursor in the future, yielded "
                f"{len(again.records)} record(s): that checkpoint went back in time"
            )

    def test_empty_read_still_yields_a_checkpoint(self, kit: KitSource, stream: str) -> None:
        """A read with nothing new yields no record and a checkpoint that keeps the position."""
        first = kit.full_read(stream)
        empty = kit.read(stream, first.final_cursor())
        if empty.records:
            fail(
                f"{empty.what} yielded {len(empty.records)} record(s) although nothing changed since "
                "that checkpoint: the cursor must resume after every record already delivered"
            )
        if not empty.checkpoints:
            fail(
                f"{empty.what} yielded no checkpoint: a read with no new record must still end with one "
                "(the engine records that the stream was read up to date)"
            )
        added = kit.harness.add_record(stream)
        after = kit.read(stream, empty.final_cursor())
        if set(after.keys) != {added}:
            fail(
                f"{after.what}, the checkpoint of an empty read, yielded {sorted(set(after.keys))[:5]}"
                f"{' ...' if len(set(after.keys)) > 5 else ''} ({len(after.records)} record(s)) instead "
                f"of just the record added since ({added!r}): an empty read's checkpoint must keep the "
                "position of the read before it"
            )

    def test_deletes_are_reported(self, kit: KitSource, stream: str) -> None:
        """After ``delete_record``, a read from the last checkpoint yields the key with ``deleted=True``."""
        first = kit.full_read(stream)
        key = kit.harness.delete_record(stream)
        if key not in first.keys:
            fail(
                f"harness bug: delete_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        result = kit.read(stream, first.final_cursor())
        reported = [record for record in result.records if record.key == key]
        if not reported:
            fail(
                f"{result.what} did not report record {key!r}, deleted at the source after that checkpoint: "
                "yield Record(stream, key, data, deleted=True) for deletes the source reports "
                "(a tombstone, an archived or IsDeleted flag, a deleted-records feed)"
            )
        if not reported[-1].deleted:
            fail(
                f"{result.what} yielded record {key!r}, deleted at the source, with deleted=False: set "
                "Record.deleted=True so the engine archives its page"
            )

    # key scan (reconciliation of deletes that leave no tombstone)

    def test_key_scan_lists_every_existing_record_once(self, kit: KitSource, stream: str) -> None:
        """``scan_keys`` lists, as strings and each once, exactly the keys of the records a full
        read yields (less those reported deleted). Skipped when the connector has no key scan."""
        expected = kit.existing_keys(stream)
        compare_scan(kit, stream, kit.scan(stream), expected, "")

    def test_key_scan_leaves_out_deleted_records(self, kit: KitSource, stream: str) -> None:
        """After ``delete_record``, ``scan_keys`` no longer lists that key and still lists the others."""
        expected = kit.existing_keys(stream)
        key = kit.harness.delete_record(stream)
        if key not in expected:
            fail(
                f"harness bug: delete_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        scanned = kit.scan(stream)
        if key in scanned:
            fail(
                f"{kit.label}: scan_keys({stream!r}) still lists {key!r}, deleted at the source "
                "(harness.delete_record): leave out the records the source reports as deleted "
                "(tombstones, IsDeleted, archived), or reconciliation never archives their pages"
            )
        compare_scan(kit, stream, scanned, expected - {key}, f" after {key!r} was deleted")

    def test_key_scan_leaves_out_hard_deleted_records(self, kit: KitSource, stream: str) -> None:
        """After ``hard_delete_record`` (a delete no read reports), ``scan_keys`` no longer lists
        that key and still lists the others. Skipped when the harness cannot hard-delete."""
        expected = kit.existing_keys(stream)
        kit.scan(stream)
        key = kit.harness_change(kit.harness.hard_delete_record, stream)
        if key not in expected:
            fail(
                f"harness bug: hard_delete_record({stream!r}) returned {key!r}, which the full read did "
                "not yield"
            )
        scanned = kit.scan(stream)
        if key in scanned:
            fail(
                f"{kit.label}: scan_keys({stream!r}) still lists {key!r}, removed at the source without a "
                "tombstone (harness.hard_delete_record): the scan must ask the source which records exist "
                "now, never answer from keys it listed or read before"
            )
        compare_scan(kit, stream, scanned, expected - {key}, f" after {key!r} was hard-deleted")

    # rate limits

    def test_rate_limit_responses_are_waited_out(self, kit: KitSource, stream: str) -> None:
        """After the source's rate-limit response to the next requests, a read still yields every record."""
        harness_class = type(kit.harness)
        if not harness_class.has_rate_limits:
            pytest.skip(f"{harness_class.__name__}.has_rate_limits is False (see its docstring)")
        baseline = kit.full_read(stream)
        kit.harness.rate_limit_next(RATE_LIMITED_REQUESTS)
        started = time.monotonic()
        limited = kit.read(
            stream,
            None,
            hint=f"after {RATE_LIMITED_REQUESTS} rate-limit responses the connector must wait as they ask "
            "(Retry-After) and retry, not fail the run",
        )
        elapsed = time.monotonic() - started
        if sorted(limited.keys) != sorted(baseline.keys):
            lost = sorted(set(baseline.keys) - set(limited.keys))
            fail(
                f"{limited.what}, after {RATE_LIMITED_REQUESTS} rate-limit responses, yielded "
                f"{len(limited.records)} record(s) instead of the {len(baseline.records)} of the same read "
                f"without them (missing e.g. {lost[:5]}): rate-limited requests must be retried, not skipped"
            )
        wait = harness_class.rate_limit_retry_after * RATE_LIMITED_REQUESTS
        if wait and elapsed < wait:
            fail(
                f"{limited.what} finished {elapsed:.2f} s after {RATE_LIMITED_REQUESTS} rate-limit "
                f"responses that each asked for a {harness_class.rate_limit_retry_after:g} s wait: the "
                "connector retried without waiting as Retry-After asks"
            )


def connector_tests(harness_class: type[ConnectorHarness]) -> type:
    """A pytest test class running every kit check against ``harness_class``'s connector.

    Use it in a test module of the connector's distribution::

        from syncfw.testing import connector_tests
        from syncfw_mysource.testing import MySourceHarness

        TestMySourceKit = connector_tests(MySourceHarness)

    Raises:
        TypeError: ``harness_class`` is not a complete :class:`ConnectorHarness` (abstract methods
            left, no ``connector_class``, or no ``streams``).
    """
    if not (isinstance(harness_class, type) and issubclass(harness_class, ConnectorHarness)):
        raise TypeError(f"connector_tests() needs a ConnectorHarness subclass, got {harness_class!r}")
    name = harness_class.__name__
    if inspect.isabstract(harness_class):
        missing = ", ".join(sorted(getattr(harness_class, "__abstractmethods__", ())))
        raise TypeError(f"{name} does not implement: {missing}")
    connector_class = getattr(harness_class, "connector_class", None)
    if not (isinstance(connector_class, type) and issubclass(connector_class, Connector)):
        raise TypeError(
            f"{name}.connector_class must be a syncfw.Connector subclass, got {connector_class!r}"
        )
    streams: Sequence[str] = getattr(harness_class, "streams", ())
    if not (isinstance(streams, tuple) and streams and all(isinstance(s, str) and s for s in streams)):
        raise TypeError(f"{name}.streams must be a non-empty tuple of stream names, got {streams!r}")
    return type(
        f"Test{name}",
        (ConnectorKit,),
        {"harness_class": harness_class, "__doc__": f"The kit run against {name}."},
    )
