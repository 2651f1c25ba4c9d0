"""The three-way diff: what a user sees written, kept or reported for each owned property."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from syncfw.engine.diff import diff_page

values = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["a", "b", "c"]))


def test_equal_desired_and_live_writes_nothing() -> None:
    result = diff_page({"Name": "Edge"}, {"Name": "Edge"}, {"Name": "Old"}, "revert")
    assert not result.changed and result.drift == [] and result.agreed == {"Name": "Edge"}


def test_ordinary_update_when_live_is_what_syncfw_wrote() -> None:
    result = diff_page({"Industry": "Energy"}, {"Industry": "Retail"}, {"Industry": "Retail"}, "flag")
    assert result.writes == {"Industry": "Energy"} and result.before == {"Industry": "Retail"}
    assert result.drift == []


def test_human_edit_is_reverted_and_reported_under_revert() -> None:
    result = diff_page({"Phone": "1"}, {"Phone": "999"}, {"Phone": "1"}, "revert")
    assert result.writes == {"Phone": "1"}
    assert [(d.property, d.synced, d.live, d.action) for d in result.drift] == [
        ("Phone", "1", "999", "reverted")
    ]


def test_human_edit_is_kept_and_flagged_under_flag_until_the_source_changes() -> None:
    kept = diff_page({"Phone": "1"}, {"Phone": "999"}, {"Phone": "1"}, "flag")
    assert kept.writes == {} and [d.action for d in kept.drift] == ["flagged"]
    source_moved = diff_page({"Phone": "2"}, {"Phone": "999"}, {"Phone": "1"}, "flag")
    assert source_moved.writes == {"Phone": "2"} and [d.action for d in source_moved.drift] == ["overwritten"]


def test_a_page_syncfw_never_wrote_is_updated_without_drift() -> None:
    result = diff_page({"Name": "A", "Rank": 2}, {"Name": "B", "Rank": 2}, None, "flag")
    assert result.writes == {"Name": "A"} and result.drift == []


@given(
    st.dictionaries(st.sampled_from("pqrs"), st.tuples(values, values, values)),
    st.sampled_from(["revert", "flag"]),
)
def test_diff_invariants(props: dict[str, tuple[object, object, object]], policy: str) -> None:
    desired = {k: v[0] for k, v in props.items()}
    live = {k: v[1] for k, v in props.items()}
    last = {k: v[2] for k, v in props.items()}
    result = diff_page(desired, live, last, policy)  # type: ignore[arg-type]
    for name in props:
        s, n, lv = props[name]
        # a property already equal in Notion is never written; every write sends the desired value
        assert (name in result.writes) <= (s != n)
        if name in result.writes:
            assert result.writes[name] == s
        # drift is reported exactly when Notion differs from both syncfw's last write and the desired value
        assert any(d.property == name for d in result.drift) == (n != lv and s != n)
        # revert converges: after writing, Notion holds the desired value
        if policy == "revert" and s != n:
            assert result.writes[name] == s
    # applying the writes and diffing again (with L updated) writes nothing
    after = {**live, **result.writes}
    again = diff_page(desired, after, {**last, **result.writes}, policy)  # type: ignore[arg-type]
    assert set(again.writes) <= {d.property for d in result.drift if d.action == "flagged"}
