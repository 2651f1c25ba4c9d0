"""Random faults of the Salesforce emulator, as simple-salesforce, requests and the connector see them."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError
from syncfw_salesforce.emulator import SalesforceEmulator

from syncfw import ConfigError, SourceUnavailable
from syncfw.connector import EmulatorContext
from syncfw.emulation import FaultPlan, TLSFiles

if TYPE_CHECKING:
    from conftest import Sandbox


def client(sandbox: Sandbox) -> Salesforce:
    return Salesforce(
        session_id=sandbox.env["SALESFORCE_SESSION_ID"],
        instance_url=sandbox.env["SALESFORCE_INSTANCE_URL"],
        object_pairs_hook=dict,
    )


def failure(call: Callable[[], Any]) -> Exception:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


def limits_url(sandbox: Sandbox) -> str:
    return sandbox.env["SALESFORCE_INSTANCE_URL"] + "/services/data/v59.0/limits/"


def auth(sandbox: Sandbox) -> dict[str, str]:
    return {"Authorization": "Bearer " + sandbox.env["SALESFORCE_SESSION_ID"]}


def test_500_and_503_answer_salesforce_error_arrays(sandbox: Sandbox) -> None:
    sf = client(sandbox)
    sandbox.org.configure_faults("500=1")
    unexpected = failure(lambda: sf.query("SELECT Id FROM Account"))
    sandbox.org.configure_faults("503=1")
    unavailable = failure(lambda: sf.query("SELECT Id FROM Account"))

    assert isinstance(unexpected, SalesforceGeneralError) and unexpected.status == 500
    [body] = unexpected.content
    assert body["errorCode"] == "UNKNOWN_EXCEPTION"
    assert body["message"].startswith(
        "An unexpected error occurred. Please include this ErrorId if you contact support: "
    )
    assert isinstance(unavailable, SalesforceGeneralError) and unavailable.status == 503
    assert unavailable.content == [
        {"message": "Server temporarily unavailable", "errorCode": "SERVER_UNAVAILABLE"}
    ]
    answer = requests.get(limits_url(sandbox), headers=auth(sandbox), timeout=10)
    assert answer.headers["Sforce-Limit-Info"].startswith("api-usage=")


@pytest.mark.parametrize(("status", "reason"), [(502, "Bad Gateway"), (504, "Gateway Timeout")])
def test_gateway_failures_answer_an_html_page(sandbox: Sandbox, status: int, reason: str) -> None:
    sandbox.org.configure_faults(f"{status}=1")

    error = failure(lambda: client(sandbox).query("SELECT Id FROM Account"))

    assert isinstance(error, SalesforceGeneralError) and error.status == status
    assert isinstance(error.content, str) and f"{status} {reason}" in error.content


def test_reset_is_a_connection_error_to_requests(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("reset=1")

    error = failure(lambda: client(sandbox).query("SELECT Id FROM Account"))

    assert isinstance(error, requests.ConnectionError)
    assert sandbox.org.fault_counts() == {"reset": 1}


def test_timeout_holds_longer_than_the_client_waits(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("timeout=1,timeout_seconds=2")
    started = time.monotonic()

    error = failure(lambda: requests.get(limits_url(sandbox), headers=auth(sandbox), timeout=0.3))

    assert isinstance(error, requests.ReadTimeout)
    assert time.monotonic() - started < 1.5
    sandbox.org.configure_faults("timeout=1,timeout_seconds=0.3")
    dropped = failure(lambda: requests.get(limits_url(sandbox), headers=auth(sandbox), timeout=10))
    assert isinstance(dropped, requests.ConnectionError) and not isinstance(dropped, requests.Timeout)


def test_connector_retries_through_random_faults(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("5xx=0.3,reset=0.1,seed=4")

    records, _ = sandbox.read("Account")

    assert len(records) == 12
    assert sum(sandbox.org.fault_counts().values()) >= 1


def test_connector_gives_up_on_timeouts_as_source_unavailable(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("timeout=1,timeout_seconds=5")

    with pytest.raises(SourceUnavailable) as caught:
        sandbox.connector(timeout_seconds=0.2).check()

    assert "after 4 attempt(s)" in str(caught.value)
    assert sandbox.org.fault_counts() == {"timeout": 4}


def test_probabilities_hold_over_500_requests(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("500=0.1,503=0.2,reset=0.1,seed=9")
    seen: Counter[str] = Counter()
    with requests.Session() as session:
        for _ in range(500):
            try:
                seen[
                    str(session.get(limits_url(sandbox), headers=auth(sandbox), timeout=10).status_code)
                ] += 1
            except requests.ConnectionError:
                seen["reset"] += 1

    assert 30 <= seen["500"] <= 75
    assert 75 <= seen["503"] <= 125
    assert 30 <= seen["reset"] <= 75
    assert sandbox.org.fault_counts() == {"server_error": seen["500"] + seen["503"], "reset": seen["reset"]}
    assert seen["200"] == 500 - sum(sandbox.org.fault_counts().values())


def test_faults_come_after_authentication(sandbox: Sandbox) -> None:
    sandbox.org.configure_faults("reset=1")

    answer = requests.get(limits_url(sandbox), headers={"Authorization": "Bearer wrong"}, timeout=10)

    assert answer.status_code == 401
    sandbox.org.configure_faults(None)
    assert requests.get(limits_url(sandbox), headers=auth(sandbox), timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("429=0.1", "(it supports server_error, timeout, reset); rate_limited: Salesforce never answers 429"),
        ("529=0.1", "(it supports server_error, timeout, reset); overload: 529 service_overload is Notion's"),
        (
            "lost=0.1",
            "(it supports server_error, timeout, reset); lost_response: the emulator serves reads only",
        ),
        ("reset=0.1,only=writes", "only=writes would inject nothing"),
    ],
)
def test_kinds_salesforce_has_no_equivalent_of_are_refused(
    sandbox: Sandbox, faults: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        sandbox.org.configure_faults(faults)

    assert message in str(caught.value)


def test_sandbox_option_sets_the_plan(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(faults="503=1,seed=1")

    error = failure(lambda: client(sandbox).query("SELECT Id FROM Account"))

    assert isinstance(error, SalesforceGeneralError) and error.status == 503
    sandbox.org.configure_faults(FaultPlan())
    assert client(sandbox).query("SELECT Id FROM Account")["totalSize"] == 12


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        ("429=0.5", "sandbox option faults='429=0.5': the Salesforce emulator cannot inject rate_limited"),
        ("reset=0.1,wobble=1", "sandbox option faults='reset=0.1,wobble=1': unknown fault setting 'wobble'"),
    ],
)
def test_bad_sandbox_option_is_a_config_error(
    tls: TLSFiles, tmp_path: Path, faults: str, message: str
) -> None:
    emulator = SalesforceEmulator()

    with pytest.raises(ConfigError) as caught:
        emulator.start(EmulatorContext(None, tmp_path, tls, {"faults": faults}))

    assert message in str(caught.value)
    emulator.stop()
