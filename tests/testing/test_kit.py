"""The acceptance kit: every check passes on a correct connector and fails, for the right reason,
on a connector with the one bug it exists to catch.

The kit's test classes are run the way a connector author runs them: generated into a test
module by ``connector_tests`` and collected by pytest (in-process, through ``pytester``).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import pytest

from syncfw.testing import ConnectorHarness, connector_tests, shift_timestamps
from syncfw.testing.kit import ConnectorKit
from tests.testing import memory

pytest_plugins = ["pytester"]

CHECKS = sorted(name for name in vars(ConnectorKit) if name.startswith("test_"))
STREAM_FREE_CHECKS = {
    "test_check_accepts_valid_credentials",
    "test_check_refuses_bad_credentials_clearly",
    "test_config_holds_credentials_as_secrets",
}


@dataclass(frozen=True)
class Outcome:
    outcome: str  # passed, failed, skipped
    text: str  # the failure or skip message


def run_module(pytester: pytest.Pytester, source: str, *args: str) -> dict[str, dict[str, Outcome]]:
    """Run a connector's kit module in-process; outcome per generated class, then per test id."""
    pytester.makepyfile(test_connector_kit=textwrap.dedent(source))
    recorder = pytester.inline_run("-p", "no:cacheprovider", *args)
    outcomes: dict[str, dict[str, Outcome]] = {}
    for report in recorder.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            _, class_name, test_id = report.nodeid.split("::")
            text = report.longrepr[2] if report.skipped else report.longreprtext  # type: ignore[index]
            outcomes.setdefault(class_name, {}).setdefault(test_id, Outcome(report.outcome, text))
    assert memory.SOURCES == {}, "a harness was not stopped"
    return outcomes


def run_kit(pytester: pytest.Pytester, harness: str, *args: str) -> dict[str, Outcome]:
    """Run ``connector_tests(<harness>)`` as a connector's test module would; outcome per test id."""
    source = f"""
        from syncfw.testing import connector_tests
        from tests.testing import memory

        TestKit = connector_tests({harness})
        """
    return run_module(pytester, source, *args).get("TestKit", {})


_broken_outcomes: dict[str, dict[str, Outcome]] = {}


def broken_outcomes(pytester: pytest.Pytester) -> dict[str, dict[str, Outcome]]:
    """Every broken connector's kit, run once in one session (starting pytest per bug is slow)."""
    if not _broken_outcomes:
        source = """
            from syncfw.testing import connector_tests
            from tests.testing import memory

            for bug, harness in memory.BROKEN.items():
                globals()[f"Test_{bug}"] = connector_tests(harness)
            """
        _broken_outcomes.update(run_module(pytester, source))
    return _broken_outcomes


def expected_ids(check: str) -> set[str]:
    if check in STREAM_FREE_CHECKS:
        return {check}
    return {f"{check}[{stream}]" for stream in memory.STREAMS}


def test_a_correct_connector_passes_every_check(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.MemoryHarness")
    assert set(outcomes) == set().union(*(expected_ids(check) for check in CHECKS))
    assert {test_id: o.outcome for test_id, o in outcomes.items() if o.outcome != "passed"} == {}


# (bug, the check that must catch it, what its failure message must say)
BUGS = [
    (
        "check_fails",
        "test_check_accepts_valid_credentials",
        "check() with valid credentials raised SourceError",
    ),
    ("swallows_bad_credentials", "test_check_refuses_bad_credentials_clearly", "returned normally"),
    (
        "raw_auth_error",
        "test_check_refuses_bad_credentials_clearly",
        "raised PermissionError (HTTP 401), not syncfw.errors.SourceAuthError",
    ),
    (
        "plain_source_error",
        "test_check_refuses_bad_credentials_clearly",
        "raised SourceError (the memory source failed), not syncfw.errors.SourceAuthError",
    ),
    ("leaks_secret", "test_check_refuses_bad_credentials_clearly", "contains a secret value from the config"),
    ("traceback_message", "test_check_refuses_bad_credentials_clearly", "looks like a traceback"),
    ("empty_message", "test_check_refuses_bad_credentials_clearly", "its message is empty"),
    ("plain_token", "test_config_holds_credentials_as_secrets", "holds no SecretStr value"),
    ("secret_in_json", "test_config_holds_credentials_as_secrets", "JSON shows a secret value"),
    ("no_cursor_field", "test_stream_declares_key_and_cursor", "declares no cursor field"),
    ("no_primary_key", "test_stream_declares_key_and_cursor", "declares no primary key"),
    ("repeats_page_ends", "test_records_carry_non_null_unique_keys", "key(s) more than once"),
    ("null_key", "test_records_carry_non_null_unique_keys", "yielded a record with key None"),
    ("name_as_key", "test_records_carry_non_null_unique_keys", "whose 'id' field is"),
    ("no_records", "test_records_carry_non_null_unique_keys", "yielded no record"),
    ("checkpoint_first", "test_every_read_ends_with_a_checkpoint", "not a Checkpoint"),
    ("empty_cursor", "test_every_read_ends_with_a_checkpoint", "a cursor is the non-empty string"),
    (
        "checkpoints_newest",
        "test_checkpoints_never_run_ahead_of_records",
        "must not cover records not yet yielded",
    ),
    ("checkpoint_lags", "test_checkpoints_never_run_ahead_of_records", "yielded again"),
    (
        "ignores_cursor",
        "test_incremental_read_returns_only_new_or_changed_records",
        "although nothing changed at the source",
    ),
    ("misses_changes", "test_incremental_read_includes_a_changed_record", "changed at the source after"),
    ("misses_new_records", "test_incremental_read_includes_an_added_record", "created at the source after"),
    ("future_cursor_resets", "test_checkpoint_from_the_future_yields_nothing", "ignores or resets a cursor"),
    ("future_cursor_raises", "test_checkpoint_from_the_future_yields_nothing", "start time is in the future"),
    ("empty_read_without_checkpoint", "test_empty_read_still_yields_a_checkpoint", "yielded no checkpoint"),
    (
        "empty_read_resets_cursor",
        "test_empty_read_still_yields_a_checkpoint",
        "instead of just the record added",
    ),
    ("reads_strictly_after_cursor", "test_incremental_read_delivers_a_late_record", "look-back window"),
    ("drops_deletes", "test_deletes_are_reported", "did not report record"),
    ("deleted_as_change", "test_deletes_are_reported", "with deleted=False"),
    ("scans_first_page_only", "test_key_scan_lists_every_existing_record_once", "did not list 3 key(s)"),
    ("scan_repeats_page_ends", "test_key_scan_lists_every_existing_record_once", "key(s) more than once"),
    ("scans_rows_not_keys", "test_key_scan_lists_every_existing_record_once", "(a dict), not a string"),
    ("scan_lists_tombstones", "test_key_scan_leaves_out_deleted_records", "deleted at the source"),
    ("caches_scan", "test_key_scan_leaves_out_hard_deleted_records", "removed at the source without a"),
    (
        "scan_probes_sequential_ids",
        "test_key_scan_leaves_out_hard_deleted_records",
        "did not list 4 key(s) of records that exist",
    ),
    (
        "raises_on_rate_limit",
        "test_rate_limit_responses_are_waited_out",
        "must wait as they ask (Retry-After)",
    ),
    ("hangs_on_rate_limit", "test_rate_limit_responses_are_waited_out", "did not finish within 1 s"),
    ("retries_at_once", "test_rate_limit_responses_are_waited_out", "retried without waiting"),
    ("skips_rate_limited_page", "test_rate_limit_responses_are_waited_out", "must be retried, not skipped"),
]


def test_every_check_has_a_bug_it_is_proven_to_catch() -> None:
    assert {check for _, check, _ in BUGS} == set(CHECKS)
    assert {bug for bug, _, _ in BUGS} == set(memory.BROKEN)


@pytest.mark.parametrize(("bug", "check", "message"), BUGS, ids=[bug for bug, _, _ in BUGS])
def test_check_fails_on_a_connector_with_the_bug(
    pytester: pytest.Pytester, bug: str, check: str, message: str
) -> None:
    outcomes = broken_outcomes(pytester)[f"Test_{bug}"]
    for test_id in expected_ids(check):
        outcome = outcomes[test_id]
        assert outcome.outcome == "failed", f"{test_id} did not catch {bug}"
        assert message in outcome.text, outcome.text


def test_failure_messages_name_the_connector_and_stream(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.BROKEN['drops_deletes']", "-k", "deletes")
    assert (
        "DropsDeletesConnector ('memory'): read('notes', cursor="
        in outcomes["test_deletes_are_reported[notes]"].text
    )


def test_opaque_cursors_need_the_harness_to_make_a_future_one(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.OpaqueCursorHarness", "-k", "future")
    for outcome in outcomes.values():
        assert outcome.outcome == "failed"
        assert "override ConnectorHarness.future_cursor" in outcome.text
    outcomes = run_kit(pytester, "memory.OpaqueCursorWithFutureHarness")
    assert {o.outcome for o in outcomes.values()} == {"passed"}


def test_a_source_without_rate_limits_skips_that_check_only(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.NoRateLimitsHarness")
    skipped = {test_id: o.text for test_id, o in outcomes.items() if o.outcome == "skipped"}
    assert set(skipped) == expected_ids("test_rate_limit_responses_are_waited_out")
    assert all("NoRateLimitsHarness.has_rate_limits is False" in text for text in skipped.values())
    assert {o.outcome for o in outcomes.values()} == {"passed", "skipped"}


KEY_SCAN_CHECKS = (
    "test_key_scan_lists_every_existing_record_once",
    "test_key_scan_leaves_out_deleted_records",
    "test_key_scan_leaves_out_hard_deleted_records",
)


def test_a_connector_without_key_scan_skips_the_key_scan_checks_only(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.NoKeyScanHarness")
    skipped = {test_id: o.text for test_id, o in outcomes.items() if o.outcome == "skipped"}
    assert set(skipped) == set().union(*(expected_ids(check) for check in KEY_SCAN_CHECKS))
    assert all(
        "NoKeyScanConnector has no key scan (the memory connector cannot list the keys of" in text
        for text in skipped.values()
    )
    assert {o.outcome for o in outcomes.values()} == {"passed", "skipped"}


def test_a_harness_without_late_records_or_hard_deletes_skips_those_checks_only(
    pytester: pytest.Pytester,
) -> None:
    outcomes = run_kit(pytester, "memory.InOrderSourceHarness")
    skipped = {test_id: o.text for test_id, o in outcomes.items() if o.outcome == "skipped"}
    hooks = {
        "test_incremental_read_delivers_a_late_record": "add_late_record",
        "test_key_scan_leaves_out_hard_deleted_records": "hard_delete_record",
    }
    assert set(skipped) == set().union(*(expected_ids(check) for check in hooks))
    for check, hook in hooks.items():
        for test_id in expected_ids(check):
            assert f"InOrderSourceHarness does not implement {hook} (see its docstring)" in skipped[test_id]
    assert {o.outcome for o in outcomes.values()} == {"passed", "skipped"}


def test_a_source_without_credentials_skips_the_secret_check_only(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.NoCredentialsHarness")
    skipped = {test_id: o.text for test_id, o in outcomes.items() if o.outcome == "skipped"}
    assert set(skipped) == {"test_config_holds_credentials_as_secrets"}
    assert (
        "NoCredentialsHarness.has_credentials is False" in skipped["test_config_holds_credentials_as_secrets"]
    )
    assert outcomes["test_check_refuses_bad_credentials_clearly"].outcome == "passed"
    assert {o.outcome for o in outcomes.values()} == {"passed", "skipped"}


def test_the_harness_is_stopped_when_it_fails_to_start(pytester: pytest.Pytester) -> None:
    outcomes = run_kit(pytester, "memory.StartFailsHarness", "-k", "valid_credentials")
    assert outcomes["test_check_accepts_valid_credentials"].outcome == "failed"
    assert "the emulator did not start" in outcomes["test_check_accepts_valid_credentials"].text
    # run_kit asserted that no source is left registered: stop() ran


def test_an_incomplete_harness_is_refused_when_the_class_is_made() -> None:
    class Incomplete(ConnectorHarness):
        connector_class = memory.MemoryConnector
        streams = ("items",)

    with pytest.raises(TypeError, match="Incomplete does not implement: add_record, change_record"):
        connector_tests(Incomplete)

    no_streams = type("NoStreams", (memory.MemoryHarness,), {"streams": ()})
    with pytest.raises(TypeError, match=r"NoStreams.streams must be a non-empty tuple"):
        connector_tests(no_streams)

    with pytest.raises(TypeError, match="needs a ConnectorHarness subclass"):
        connector_tests(memory.MemoryConnector)  # type: ignore[arg-type]


def test_the_generated_class_is_named_for_the_harness() -> None:
    kit = connector_tests(memory.MemoryHarness)
    assert kit.__name__ == "TestMemoryHarness"
    assert kit.harness_class is memory.MemoryHarness  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cursor", "future"),
    [
        ("2026-05-01T07:25:37.000+0000", "2034-05-01T07:25:37.000+0000"),
        (
            '{"SystemModstamp":"2026-05-02T09:14:05+00:00","ids":["001"]}',
            '{"SystemModstamp":"2034-05-02T09:14:05+00:00","ids":["001"]}',
        ),
        ("2024-02-29 23:59:59Z|item-7", "2032-02-29 23:59:59Z|item-7"),
        ("1777620337", "2030081137"),
        ('{"start_time": 1777620337000, "page": 3}', '{"start_time": 2030081137000, "page": 3}'),
    ],
)
def test_shift_timestamps_moves_every_timestamp_forward_keeping_the_format(cursor: str, future: str) -> None:
    assert shift_timestamps(cursor) == future


@pytest.mark.parametrize("cursor", ["eyJwb3MiOiA0Mn0=", "page-7", "42"])
def test_shift_timestamps_refuses_a_cursor_without_a_timestamp(cursor: str) -> None:
    with pytest.raises(ValueError, match=r"override ConnectorHarness\.future_cursor"):
        shift_timestamps(cursor)
