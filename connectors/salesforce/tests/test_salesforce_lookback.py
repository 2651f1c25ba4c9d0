"""Rows Salesforce commits out of SystemModstamp order, read through the connector's look-back."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from syncfw_salesforce.emulator.ids import make_id

if TYPE_CHECKING:
    from conftest import Sandbox

T0 = "2026-05-03T10:00:00.000+0000"
T1 = "2026-05-03T10:01:00.000+0000"
T2 = "2026-05-03T10:02:00.000+0000"
T3 = "2026-05-03T10:03:00.000+0000"


def stamp(records: list[dict[str, Any]], name: str, when: str, **changes: Any) -> None:
    record = next(r for r in records if r["Name"] == name)
    record.update(changes, SystemModstamp=when)


def late_account(template: dict[str, Any], when: str) -> dict[str, Any]:
    record_id = make_id("001", "lt", 1)
    url = template["attributes"]["url"].replace(template["Id"], record_id)
    return dict(
        template,
        attributes={**template["attributes"], "url": url},
        Id=record_id,
        Name="Late Ltd",
        SystemModstamp=when,
    )


def test_a_row_committed_after_a_newer_one_was_read_is_delivered(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    late = late_account(accounts[0], T0)
    sandbox.org.begin_transaction("Account", late["Id"])  # stamped T0, not committed yet
    stamp(accounts, "GenePoint", T1, Industry="Biotech")  # a later transaction commits first
    sandbox.write("Account", [*accounts, late])
    first, checkpoints = sandbox.read("Account")
    assert "Late Ltd" not in {r.data["Name"] for r in first}
    assert json.loads(checkpoints[-1].cursor)["SystemModstamp"] == "2026-05-03T10:01:00+00:00"

    sandbox.org.commit("Account", late["Id"])
    records, after = sandbox.read("Account", checkpoints[-1].cursor)

    assert [(r.key, r.data["SystemModstamp"]) for r in records] == [(late["Id"], T0)]
    assert sandbox.read("Account", after[-1].cursor)[0] == []
    # without a look-back, the row stamped before the cursor is never read
    assert sandbox.read("Account", checkpoints[-1].cursor, lookback="0s")[0] == []


def test_records_inside_the_window_are_not_delivered_again_unless_changed(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    stamp(accounts, "GenePoint", T0)
    stamp(accounts, "Dickenson plc", T1)
    stamp(accounts, "sForce", T2)
    sandbox.write("Account", accounts)
    fields = ("Name", "Industry")
    _, first = sandbox.read("Account", None, fields)

    assert sandbox.read("Account", first[-1].cursor, fields)[0] == []

    stamp(accounts, "Dickenson plc", T3, Industry="Shipping")
    sandbox.write("Account", accounts)
    records, checkpoints = sandbox.read("Account", first[-1].cursor, fields)
    assert [(r.data["Name"], r.data["Industry"]) for r in records] == [("Dickenson plc", "Shipping")]
    assert sandbox.read("Account", checkpoints[-1].cursor, fields)[0] == []


def test_a_row_older_than_the_look_back_is_left_to_the_cursor(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    late = late_account(accounts[0], T0)
    sandbox.org.begin_transaction("Account", late["Id"])
    stamp(accounts, "GenePoint", T3)
    sandbox.write("Account", [*accounts, late])
    _, checkpoints = sandbox.read("Account", lookback="2m")
    sandbox.org.commit("Account", late["Id"])

    assert sandbox.read("Account", checkpoints[-1].cursor, lookback="2m")[0] == []  # 3 minutes late
    assert [r.key for r in sandbox.read("Account", checkpoints[-1].cursor, lookback="5m")[0]] == [late["Id"]]


def test_cursors_written_before_the_look_back_resume(sandbox: Sandbox) -> None:
    accounts = sandbox.records("Account")
    stamp(accounts, "GenePoint", T0)
    stamp(accounts, "sForce", T2)
    sandbox.write("Account", accounts)
    sforce = next(r for r in accounts if r["Name"] == "sForce")
    old_digestless = json.dumps({"SystemModstamp": "2026-05-03T10:02:00+00:00", "ids": [sforce["Id"]]})
    stamp(accounts, "Dickenson plc", T3)
    sandbox.write("Account", accounts)

    records, checkpoints = sandbox.read("Account", old_digestless)

    # the window before the old cursor is delivered once more (no Notion write: the diff finds no
    # change), the change after it is delivered, and nothing older than the window comes back
    assert [r.data["Name"] for r in records] == ["GenePoint", "sForce", "Dickenson plc"]
    assert sandbox.read("Account", checkpoints[-1].cursor)[0] == []
