"""The connector calls the acceptance checks make, each bounded in time, and what they yielded.

:class:`KitSource` wraps one started :class:`ConnectorHarness`: it builds the connector exactly as
a recipe would, a new one for every call, runs each call in a worker thread bounded by the
harness's ``timeout_seconds``, and fails the check with a message that names the connector and
the call.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import pytest
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError

from syncfw.connector import Checkpoint, Connector, Record, StreamSpec
from syncfw.errors import KeyScanUnsupported
from syncfw.testing.harness import ConnectorHarness

T = TypeVar("T")

# what a message shows when it carries a traceback or a Python object's repr
_TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "', " object at 0x", "<class '")
SHORTEST_SECRET = 4  # shorter secret values would match ordinary words by chance


def fail(message: str) -> NoReturn:
    pytest.fail(message, pytrace=False)


def _short(cursor: str | None) -> str:
    if cursor is None:
        return "None"
    return repr(cursor if len(cursor) <= 60 else cursor[:57] + "...")


def lookup(data: Mapping[str, Any], path: str) -> Any:
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
    if any(secret in message for secret in secrets if len(secret) >= SHORTEST_SECRET):
        problems.append("its message contains a secret value from the config")
    return problems


def within(seconds: float, what: str, call: Callable[[], T]) -> T:
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
        fail(
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
            fail(
                f"{self.what} yielded nothing, not even a checkpoint: a read that reaches the end of "
                "the stream always ends with a Checkpoint, even when no record changed"
            )
        last = self.items[-1]
        if not isinstance(last, Checkpoint):
            fail(
                f"{self.what} ended with the record {last.key!r}, not a Checkpoint: yield a checkpoint "
                "after the last record, or the engine cannot resume after it"
            )
        return last.cursor


def compare_scan(kit: KitSource, stream: str, scanned: list[Any], expected: set[str], when: str) -> None:
    """Fail unless ``scanned`` lists every key of ``expected`` once, as strings, and nothing else."""
    what = f"{kit.label}: scan_keys({stream!r}){when}"
    for item in scanned:
        if not isinstance(item, str):
            fail(
                f"{what} listed {item!r} (a {type(item).__name__}), not a string: list each key as a "
                "string exactly as Record.key holds it"
            )
    repeated = sorted(key for key, count in Counter(scanned).items() if count > 1)
    if repeated:
        fail(
            f"{what} listed {len(repeated)} key(s) more than once, e.g. {repeated[:5]}: list each "
            "existing record once (check paging: offsets that shift, overlapping pages)"
        )
    missing = sorted(expected - set(scanned))
    if missing:
        fail(
            f"{what} did not list {len(missing)} key(s) of records that exist (a full read yields them), "
            f"e.g. {missing[:5]}: reconciliation would archive their pages; list every page of keys, "
            "and raise SourceError rather than return a partial list"
        )
    extra = sorted(set(scanned) - expected)
    if extra:
        fail(
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
            fail(
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
            return within(type(self.harness).timeout_seconds, f"{self.label}: {what}", call)
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
            fail(f"{self.label}: stream({stream!r}) returned {spec!r}, not a syncfw.StreamSpec")
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
                fail(
                    f"{what} yielded {item!r} (item {index}): read() yields syncfw.Record and syncfw.Checkpoint only"
                )
            if item.stream != stream:
                fail(f"{what} yielded a {type(item).__name__} of stream {item.stream!r} (item {index})")
            if isinstance(item, Checkpoint) and not (isinstance(item.cursor, str) and item.cursor):
                fail(
                    f"{what} yielded a checkpoint with cursor {item.cursor!r} (item {index}): a cursor is "
                    "the non-empty string a later read resumes from"
                )
        return ReadResult(what, tuple(items))

    def full_read(self, stream: str) -> ReadResult:
        """A read with no cursor; fails the check when it yields no record."""
        result = self.read(stream, None)
        if not result.records:
            fail(
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
            return within(type(self.harness).timeout_seconds, what, lambda: list(connector.scan_keys(stream)))
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
