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
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NoReturn, TypeVar

import pytest
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.errors import KeyScanUnsupported, SourceAuthError, SourceError
from syncfw.testing.harness import ConnectorHarness

T = TypeVar("T")

RATE_LIMITED_REQUESTS = 2
"""How many requests in a row the rate-limit check has the emulator refuse."""

# what a message shows when it carries a traceback or a Python object's repr
_TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', " object at 0x", "<class '")
_SHORTEST_SECRET = 4  # shorter secret values would match ordinary words by chance


def _fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _short(cursor: str | None) -> str:
    if cursor is None:
        return "None"
    return repr(cursor if len(cursor) <= 60 else cursor[:57] + "...")


def _lookup(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted field path (``Owner.Name``), or None where any part is missing."""
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def secret_values(model: BaseModel) -> set[str]:
    """Every ``SecretStr``/``SecretBytes`` value in a config model, nested models included."""
    found: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            found.add(value.get_secret_value().decode(errors="replace"))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                visit(getattr(value, name))
        elif isinstance(value, Mapping):
            for item in value.values():
                visit(item)
        elif isinstance(value, list | tuple | set | frozenset):
            for item in value:
                visit(item)

    visit(model)
    return {secret for secret in found if secret}


def message_problems(message: str, secrets: set[str]) -> list[str]:
    """What makes an error message unfit to show a user: empty, traceback-like, or a secret in it."""
    problems: list[str] = []
    if not message.strip():
        problems.append("its message is empty (say what was refused and what to fix)")
    markers = [marker for marker in _TRACEBACK_MARKERS if marker in message]
    if markers:
        problems.append(f"its message looks like a traceback or an object repr (contains {markers[0]!r})")
    if any(secret in message for secret in secrets if len(secret) >= _SHORTEST_SECRET):
        problems.append("its message contains a secret value from the config")
    return problems


def _within(seconds: float, what: str, call: Callable[[], T]) -> T:
    """Run ``call`` in a worker thread; fail the check if it takes longer than ``seconds``.

    The connector's own exception is re-raised in the calling thread.
    """
    __tracebackhide__ = True
    outcome: dict[str, Any] = {}

    def run() -> None:
        __tracebackhide__ = True
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test thread as is
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="syncfw-kit-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _fail(
            f"{what} did not finish within {seconds:g} s: the connector hangs (a call must end or "
            "raise; set timeouts on requests and bound the waits of retries). If the source is just "
            "slow, raise the harness's timeout_seconds."
        )
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


@dataclass(frozen=True)
class ReadResult:
    """Everything one ``read`` yielded, in order.

    Attributes:
        what: the read in words, for messages (``read('Account', cursor=None)``).
        items: the records and checkpoints, in the order yielded.
    """

    what: str
    items: tuple[Record | Checkpoint, ...]

    @property
    def records(self) -> list[Record]:
        """The records, in order."""
        return [item for item in self.items if isinstance(item, Record)]

    @property
    def keys(self) -> list[str]:
        """The records' keys, in order (repeats kept)."""
        return [record.key for record in self.records]

    @property
    def checkpoints(self) -> list[Checkpoint]:
        """The checkpoints, in order."""
        return [item for item in self.items if isinstance(item, Checkpoint)]

    def final_cursor(self) -> str:
        """The cursor of the checkpoint the read ended with; fails the check if it did not end with one."""
        if not self.items:
            _fail(
                f"{self.what} yielded nothing, not even a checkpoint: a read that reaches the end of "
                "the stream always ends with a Checkpoint, even when no record changed"
            )
        last = self.items[-1]
        if not isinstance(last, Checkpoint):
            _fail(
                f"{self.what} ended with the record {last.key!r}, not a Checkpoint: yield a checkpoint "
                "after the last record, or the engine cannot resume after it"
            )
        return last.cursor


def _compare_scan(kit: KitSource, stream: str, scanned: list[Any], expected: set[str], when: str) -> None:
    """Fail unless ``scanned`` lists every key of ``expected`` once, as strings, and nothing else."""
    what = f"{kit.label}: scan_keys({stream!r}){when}"
    for item in scanned:
        if not isinstance(item, str):
            _fail(
                f"{what} listed {item!r} (a {type(item).__name__}), not a string: list each key as a "
                "string exactly as Record.key holds it"
            )
    repeated = sorted(key for key, count in Counter(scanned).items() if count > 1)
    if repeated:
        _fail(
            f"{what} listed {len(repeated)} key(s) more than once, e.g. {repeated[:5]}: list each "
            "existing record once (check paging: offsets that shift, overlapping pages)"
        )
    missing = sorted(expected - set(scanned))
    if missing:
        _fail(
            f"{what} did not list {len(missing)} key(s) of records that exist (a full read yields them), "
            f"e.g. {missing[:5]}: reconciliation would archive their pages; list every page of keys, "
            "and raise SourceError rather than return a partial list"
        )
    extra = sorted(set(scanned) - expected)
    if extra:
        _fail(
            f"{what} listed {len(extra)} key(s) of records a full read does not yield as existing, "
            f"e.g. {extra[:5]}: list only the records that exist now"
        )


class KitSource:
    """One started harness and the connector calls the checks make, each bounded in time."""

    def __init__(self, harness: ConnectorHarness) -> None:
        self.harness = harness
        self.connector_class = type(harness).connector_class
        self.label = f"{self.connector_class.__name__} ({self.connector_class.name!r})"

    def config(self, *, valid_credentials: bool = True) -> BaseModel:
        """The validated config model, as a recipe's ``config`` block becomes one."""
        raw = self.harness.config(valid_credentials=valid_credentials)
        try:
            return self.connector_class.config_model(**raw)
        except ValidationError as exc:
            _fail(
                f"{self.connector_class.config_model.__name__} refused harness.config("
                f"valid_credentials={valid_credentials}): {exc.error_count()} error(s): "
                f"{exc.errors(include_url=False, include_input=False)}; the harness must return a "
                "config block a recipe could hold"
            )

    def connector(self, *, valid_credentials: bool = True) -> Connector:
        """A new connector, built from the harness's config the way the engine builds it."""
        return self.connector_class(self.config(valid_credentials=valid_credentials))

    def call(self, what: str, call: Callable[[], T], *, hint: str = "") -> T:
        """Run a connector call within the harness's timeout; an exception fails the check."""
        __tracebackhide__ = True
        try:
            return _within(type(self.harness).timeout_seconds, f"{self.label}: {what}", call)
        except Exception as exc:
            advice = f"; {hint}" if hint else ""
            raise AssertionError(f"{self.label}: {what} raised {type(exc).__name__}: {exc}{advice}") from exc

    def spec(self, stream: str) -> StreamSpec:
        """``connector.stream(stream)``."""
        connector = self.connector()
        try:
            spec = self.call(f"stream({stream!r})", lambda: connector.stream(stream))
        finally:
            connector.close()
        if not isinstance(spec, StreamSpec):
            _fail(f"{self.label}: stream({stream!r}) returned {spec!r}, not a syncfw.StreamSpec")
        return spec

    def read(self, stream: str, cursor: str | None, *, hint: str = "") -> ReadResult:
        """Read ``stream`` from ``cursor`` to the end through a new connector.

        Fails the check when the read yields anything but records and checkpoints of ``stream``,
        or a checkpoint whose cursor is not a non-empty string.
        """
        __tracebackhide__ = True
        what = f"{self.label}: read({stream!r}, cursor={_short(cursor)})"
        fields = list(self.harness.fields(stream))
        connector = self.connector()
        try:
            items = self.call(
                f"read({stream!r}, cursor={_short(cursor)})",
                lambda: list(connector.read(stream, cursor, fields)),
                hint=hint,
            )
        finally:
            connector.close()
        for index, item in enumerate(items):
            if not isinstance(item, Record | Checkpoint):
                _fail(
                    f"{what} yielded {item!r} (item {index}): read() yields syncfw.Record and syncfw.Checkpoint only"
                )
            if item.stream != stream:
                _fail(f"{what} yielded a {type(item).__name__} of stream {item.stream!r} (item {index})")
            if isinstance(item, Checkpoint) and not (isinstance(item.cursor, str) and item.cursor):
                _fail(
                    f"{what} yielded a checkpoint with cursor {item.cursor!r} (item {index}): a cursor is "
                    "the non-empty string a later read resumes from"
                )
        return ReadResult(what, tuple(items))

    def full_read(self, stream: str) -> ReadResult:
        """A read with no cursor; fails the check when it yields no record."""
        result = self.read(stream, None)
        if not result.records:
            _fail(
                f"{result.what} yielded no record, although the harness seeds records in every stream it "
                "names: a read with cursor=None must yield every record"
            )
        return result

    def scan(self, stream: str) -> list[Any]:
        """``list(connector.scan_keys(stream))`` through a new connector; skips the check when the
        connector raises KeyScanUnsupported (it has no key scan)."""
        __tracebackhide__ = True
        what = f"{self.label}: scan_keys({stream!r})"
        connector = self.connector()
        try:
            return _within(
                type(self.harness).timeout_seconds, what, lambda: list(connector.scan_keys(stream))
            )
        except KeyScanUnsupported as exc:
            pytest.skip(f"{self.connector_class.__name__} has no key scan ({exc})")
        except Exception as exc:
            raise AssertionError(
                f"{what} raised {type(exc).__name__}: {exc}; a scan of a running source must list its keys"
            ) from exc
        finally:
            connector.close()

    def existing_keys(self, stream: str) -> set[str]:
        """The keys of the records a full read yields, less those it reports as deleted."""
        return {record.key for record in self.full_read(stream).records if not record.deleted}

    def harness_change(self, hook: Callable[[str], str], stream: str) -> str:
        """Call an optional harness hook; skips the check when the harness does not implement it."""
        try:
            return hook(stream)
        except NotImplementedError:
            harness = type(self.harness).__name__
            pytest.skip(f"{harness} does not implement {hook.__name__} (see its docstring)")


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
            _within(type(kit.harness).timeout_seconds, what, connector.check)
        except expected as exc:
            error: SourceError = exc
        except SourceError as exc:
            _fail(f"{what} raised {type(exc).__name__} ({exc}), not syncfw.errors.{expected.__name__}: {fix}")
        except Exception as exc:
            _fail(
                f"{what} raised {type(exc).__name__} ({exc}), not syncfw.errors.{expected.__name__}: translate "
                "the source's refusal (e.g. HTTP 401) into SourceAuthError with a message saying what to fix"
            )
        else:
            _fail(
                f"{what} returned normally: check() must call the source and raise "
                f"syncfw.errors.{expected.__name__} when it refuses {refusal}"
            )
        finally:
            connector.close()
        problems = message_problems(str(error), secrets)
        if problems:
            shown = str(error)
            for secret in secrets:
                if len(secret) >= _SHORTEST_SECRET:
                    shown = shown.replace(secret, "<secret>")
            _fail(
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
                _fail(
                    f"{model_name} holds no SecretStr value in harness.config(valid_credentials={valid}): "
                    "declare credential fields (tokens, passwords, keys) as pydantic.SecretStr so they "
                    "stay out of logs, plans and error messages"
                )
            shown = {"repr": repr(config), "str": str(config), "JSON": config.model_dump_json()}
            for form, text in shown.items():
                if any(secret in text for secret in secrets if len(secret) >= _SHORTEST_SECRET):
                    _fail(f"{model_name}'s {form} shows a secret value: keep credentials in SecretStr")

    # streams and records

    def test_stream_declares_key_and_cursor(self, kit: KitSource, stream: str) -> None:
        """``stream(name)`` names the stream, its primary key and its cursor field."""
        spec = kit.spec(stream)
        if spec.name != stream:
            _fail(f"{kit.label}: stream({stream!r}) describes a stream named {spec.name!r}")
        if not (isinstance(spec.primary_key, str) and spec.primary_key):
            _fail(f"{kit.label}: stream({stream!r}) declares no primary key ({spec.primary_key!r})")
        if not (isinstance(spec.cursor_field, str) and spec.cursor_field):
            _fail(
                f"{kit.label}: stream({stream!r}) declares no cursor field (cursor_field="
                f"{spec.cursor_field!r}): name the field incremental reads order by (e.g. updated_at)"
            )
        declared = {name.split(".")[0] for name in spec.fields}
        for role, field in (("primary key", spec.primary_key), ("cursor field", spec.cursor_field)):
            if spec.fields and field.split(".")[0] not in declared:
                _fail(
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
                _fail(
                    f"{result.what} yielded a record with key {record.key!r}: Record.key must be the "
                    f"non-empty string value of the primary key {spec.primary_key!r}"
                )
            if not isinstance(record.data, Mapping):
                _fail(
                    f"{result.what} yielded record {record.key!r} whose data is {type(record.data).__name__}, not a mapping"
                )
            value = _lookup(record.data, spec.primary_key)
            if value is None or str(value) != record.key:
                _fail(
                    f"{result.what} yielded record {record.key!r} whose {spec.primary_key!r} field is "
                    f"{value!r}: Record.key must equal the record's primary key, which reads always include"
                )
            if spec.cursor_field and _lookup(record.data, spec.cursor_field) is None:
                _fail(
                    f"{result.what} yielded record {record.key!r} without a value for its cursor field "
                    f"{spec.cursor_field!r}, which reads always include"
                )
        duplicates = sorted(key for key, count in Counter(result.keys).items() if count > 1)
        if duplicates:
            _fail(
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
                _fail(
                    f"{full.what}: resuming from checkpoint {number} of {len(positions)} did not yield "
                    f"{len(lost)} record(s) the full read yielded after it, e.g. {lost[:5]}: a checkpoint "
                    "must not cover records not yet yielded (the engine would skip them)"
                )
            repeated = sorted(got & before)
            if repeated:
                _fail(
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
            _fail(
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
            _fail(
                f"{third.what} yielded {len(unexpected)} record(s) that did not change since that "
                f"checkpoint, e.g. {unexpected[:5]} (only {sorted(expected)} were added or changed): "
                "incremental reads must filter by the cursor"
            )
        missing = sorted(expected - set(third.keys))
        if missing:
            _fail(
                f"{third.what} did not yield {missing}, added or changed at the source after that "
                "checkpoint: incremental reads must include every record whose cursor field moved past it"
            )
        repeated = sorted(key for key, count in Counter(third.keys).items() if count > 1)
        if repeated:
            _fail(f"{third.what} yielded {repeated} more than once")

    def test_incremental_read_includes_a_changed_record(self, kit: KitSource, stream: str) -> None:
        """After ``change_record``, a read from the last checkpoint yields the new version of it."""
        spec = kit.spec(stream)
        first = kit.full_read(stream)
        key = kit.harness.change_record(stream)
        old = [record for record in first.records if record.key == key]
        if not old:
            _fail(
                f"harness bug: change_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        result = kit.read(stream, first.final_cursor())
        new = [record for record in result.records if record.key == key]
        if not new:
            _fail(
                f"{result.what} did not yield record {key!r}, changed at the source after that checkpoint: "
                "incremental reads must include records whose cursor field moved past the cursor"
            )
        if new[-1].deleted:
            _fail(f"{result.what} reported the changed record {key!r} as deleted")
        field = spec.cursor_field
        if field and _lookup(new[-1].data, field) == _lookup(old[-1].data, field):
            _fail(
                f"{result.what} yielded record {key!r} with the {field!r} it had before the change "
                f"({_lookup(old[-1].data, field)!r}): the connector returned a stale version "
                "(or the harness's change_record does not move the cursor field forward)"
            )

    def test_incremental_read_includes_an_added_record(self, kit: KitSource, stream: str) -> None:
        """After ``add_record``, a read from the last checkpoint yields the new record."""
        first = kit.full_read(stream)
        key = kit.harness.add_record(stream)
        if key in first.keys:
            _fail(
                f"harness bug: add_record({stream!r}) returned {key!r}, a key the full read already yielded"
            )
        result = kit.read(stream, first.final_cursor())
        new = [record for record in result.records if record.key == key]
        if not new:
            _fail(
                f"{result.what} did not yield record {key!r}, created at the source after that checkpoint: "
                "incremental reads must include new records, not only changes to known ones"
            )
        if new[-1].deleted:
            _fail(f"{result.what} reported the new record {key!r} as deleted")

    def test_incremental_read_delivers_a_late_record(self, kit: KitSource, stream: str) -> None:
        """After ``add_late_record`` (a record visible only now, with a cursor value older than the
        newest record already read), a read from the last checkpoint yields it: the look-back.
        Skipped when the harness says the source makes changes visible in cursor order."""
        first = kit.full_read(stream)
        cursor = first.final_cursor()
        key = kit.harness_change(kit.harness.add_late_record, stream)
        if key in first.keys:
            _fail(
                f"harness bug: add_late_record({stream!r}) returned {key!r}, a key the full read already "
                "yielded"
            )
        result = kit.read(stream, cursor)
        late = [record for record in result.records if record.key == key]
        if not late:
            _fail(
                f"{result.what} did not yield record {key!r}, which became visible at the source after "
                "that checkpoint with a cursor value older than records already read (harness."
                "add_late_record): read each increment from a look-back window before the cursor, or "
                "such a change is never delivered"
            )
        if late[-1].deleted:
            _fail(f"{result.what} reported the late record {key!r} as deleted")

    def test_checkpoint_from_the_future_yields_nothing(self, kit: KitSource, stream: str) -> None:
        """A cursor later than every record (``harness.future_cursor``) yields no record, then a
        checkpoint that still yields nothing."""
        final = kit.full_read(stream).final_cursor()
        try:
            future = kit.harness.future_cursor(stream, final)
        except ValueError as exc:
            _fail(f"the kit cannot make a cursor from the future for stream {stream!r}: {exc}")
        if future == final:
            _fail(f"harness bug: future_cursor({stream!r}, ...) returned the cursor unchanged")
        hint = "a cursor later than every record (the source's clock may be behind ours) must yield nothing"
        result = kit.read(stream, future, hint=hint)
        if result.records:
            _fail(
                f"{result.what}, a cursor later than every record, yielded {len(result.records)} "
                f"record(s), e.g. {sorted(set(result.keys))[:5]}: the connector ignores or resets a "
                "cursor ahead of the data; it must yield nothing"
            )
        again = kit.read(stream, result.final_cursor(), hint=hint)
        if again.records:
            _fail(
                f"{again.what}, the checkpoint of a read from a cursor in the future, yielded "
                f"{len(again.records)} record(s): that checkpoint went back in time"
            )

    def test_empty_read_still_yields_a_checkpoint(self, kit: KitSource, stream: str) -> None:
        """A read with nothing new yields no record and a checkpoint that keeps the position."""
        first = kit.full_read(stream)
        empty = kit.read(stream, first.final_cursor())
        if empty.records:
            _fail(
                f"{empty.what} yielded {len(empty.records)} record(s) although nothing changed since "
                "that checkpoint: the cursor must resume after every record already delivered"
            )
        if not empty.checkpoints:
            _fail(
                f"{empty.what} yielded no checkpoint: a read with no new record must still end with one "
                "(the engine records that the stream was read up to date)"
            )
        added = kit.harness.add_record(stream)
        after = kit.read(stream, empty.final_cursor())
        if set(after.keys) != {added}:
            _fail(
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
            _fail(
                f"harness bug: delete_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        result = kit.read(stream, first.final_cursor())
        reported = [record for record in result.records if record.key == key]
        if not reported:
            _fail(
                f"{result.what} did not report record {key!r}, deleted at the source after that checkpoint: "
                "yield Record(stream, key, data, deleted=True) for deletes the source reports "
                "(a tombstone, an archived or IsDeleted flag, a deleted-records feed)"
            )
        if not reported[-1].deleted:
            _fail(
                f"{result.what} yielded record {key!r}, deleted at the source, with deleted=False: set "
                "Record.deleted=True so the engine archives its page"
            )

    # key scan (reconciliation of deletes that leave no tombstone)

    def test_key_scan_lists_every_existing_record_once(self, kit: KitSource, stream: str) -> None:
        """``scan_keys`` lists, as strings and each once, exactly the keys of the records a full
        read yields (less those reported deleted). Skipped when the connector has no key scan."""
        expected = kit.existing_keys(stream)
        _compare_scan(kit, stream, kit.scan(stream), expected, "")

    def test_key_scan_leaves_out_deleted_records(self, kit: KitSource, stream: str) -> None:
        """After ``delete_record``, ``scan_keys`` no longer lists that key and still lists the others."""
        expected = kit.existing_keys(stream)
        key = kit.harness.delete_record(stream)
        if key not in expected:
            _fail(
                f"harness bug: delete_record({stream!r}) returned {key!r}, which the full read did not yield"
            )
        scanned = kit.scan(stream)
        if key in scanned:
            _fail(
                f"{kit.label}: scan_keys({stream!r}) still lists {key!r}, deleted at the source "
                "(harness.delete_record): leave out the records the source reports as deleted "
                "(tombstones, IsDeleted, archived), or reconciliation never archives their pages"
            )
        _compare_scan(kit, stream, scanned, expected - {key}, f" after {key!r} was deleted")

    def test_key_scan_leaves_out_hard_deleted_records(self, kit: KitSource, stream: str) -> None:
        """After ``hard_delete_record`` (a delete no read reports), ``scan_keys`` no longer lists
        that key and still lists the others. Skipped when the harness cannot hard-delete."""
        expected = kit.existing_keys(stream)
        kit.scan(stream)
        key = kit.harness_change(kit.harness.hard_delete_record, stream)
        if key not in expected:
            _fail(
                f"harness bug: hard_delete_record({stream!r}) returned {key!r}, which the full read did "
                "not yield"
            )
        scanned = kit.scan(stream)
        if key in scanned:
            _fail(
                f"{kit.label}: scan_keys({stream!r}) still lists {key!r}, removed at the source without a "
                "tombstone (harness.hard_delete_record): the scan must ask the source which records exist "
                "now, never answer from keys it listed or read before"
            )
        _compare_scan(kit, stream, scanned, expected - {key}, f" after {key!r} was hard-deleted")

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
            _fail(
                f"{limited.what}, after {RATE_LIMITED_REQUESTS} rate-limit responses, yielded "
                f"{len(limited.records)} record(s) instead of the {len(baseline.records)} of the same read "
                f"without them (missing e.g. {lost[:5]}): rate-limited requests must be retried, not skipped"
            )
        wait = harness_class.rate_limit_retry_after * RATE_LIMITED_REQUESTS
        if wait and elapsed < wait:
            _fail(
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
