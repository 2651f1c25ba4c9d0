"""The emulator answers like Zendesk: recorded shapes, zenpy's own paging, errors, limits, seeds."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
from syncfw_zendesk.emulator import SANDBOX_EMAIL, ZendeskEmulator, decode_cursor, encode_cursor
from zenpy import Zenpy  # type: ignore[import-untyped]

from syncfw import ConfigError
from syncfw.connector import EmulatorContext
from syncfw.emulation import TLSFiles

if TYPE_CHECKING:
    from conftest import Sandbox

SHAPES = json.loads((Path(__file__).parent / "fixtures" / "zendesk_shapes.json").read_text())
JSON_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def mismatches(value: dict[str, Any], shape: dict[str, str]) -> list[str]:
    """Keys of ``shape`` missing from ``value`` or holding a value of another JSON type."""
    wrong = []
    for key, types in shape.items():
        if key not in value or not any(JSON_TYPES[t](value[key]) for t in types.split("|")):
            wrong.append(f"{key}={value.get(key, '<missing>')!r} (expected {types})")
    return wrong


def get(sandbox: Sandbox, path: str, auth: tuple[str, str] | None = None, **params: Any) -> requests.Response:
    url = f"https://{sandbox.env['ZENPY_FORCE_NETLOC']}/api/v2/{path}"
    default = (f"{sandbox.env['ZENDESK_EMAIL']}/token", sandbox.env["ZENDESK_API_TOKEN"])
    return requests.get(url, params=params, auth=auth or default, timeout=10)


def zenpy_client(sandbox: Sandbox) -> Zenpy:
    return Zenpy(
        subdomain=sandbox.env["ZENDESK_SUBDOMAIN"],
        email=sandbox.env["ZENDESK_EMAIL"],
        token=sandbox.env["ZENDESK_API_TOKEN"],
        ratelimit_budget=5,
    )


@pytest.mark.parametrize(
    ("stream", "kind"), [("tickets", "cursor"), ("users", "cursor"), ("organizations", "time")]
)
def test_export_pages_have_the_recorded_keys_and_types(sandbox: Sandbox, stream: str, kind: str) -> None:
    path = f"incremental/{stream}/cursor.json" if kind == "cursor" else f"incremental/{stream}.json"

    body = get(sandbox, path, start_time=0, per_page=4).json()

    assert mismatches(body, SHAPES["pages"][kind]) == []
    assert set(body) == {stream, *SHAPES["pages"][kind]}
    assert len(body[stream]) >= 4
    for item in body[stream]:
        assert mismatches(item, SHAPES["items"][stream]) == []


def test_every_seed_item_has_the_recorded_shape(sandbox: Sandbox) -> None:
    for stream in ("tickets", "users", "organizations"):
        path = f"incremental/{stream}.json"
        items = get(sandbox, path, start_time=0).json()[stream]
        assert len(items) == len(sandbox.items(stream))
        assert {
            i["id"]: mismatches(i, SHAPES["items"][stream])
            for i in items
            if mismatches(i, SHAPES["items"][stream])
        } == {}


def test_zenpy_follows_after_url_and_next_page_to_the_end(sandbox: Sandbox) -> None:
    zenpy = zenpy_client(sandbox)

    tickets = zenpy.tickets.incremental(start_time=0, per_page=7)
    ids = [ticket.id for ticket in tickets]
    users = [user.id for user in zenpy.users.incremental(start_time=0, per_page=6)]
    organizations = [org.name for org in zenpy.organizations.incremental(start_time=0, per_page=3)]

    assert len(ids) == 30 == len(set(ids)) and 121 in ids
    assert tickets.end_of_stream is True
    assert len(users) == 19
    assert len(organizations) == 8 and "University of Arizona" in organizations


def test_urls_in_answers_point_at_the_emulator(sandbox: Sandbox) -> None:
    netloc = sandbox.env["ZENPY_FORCE_NETLOC"]

    cursor_page = get(sandbox, "incremental/tickets/cursor.json", start_time=0, per_page=2).json()
    time_page = get(sandbox, "incremental/organizations.json", start_time=0, per_page=2).json()

    after = urlsplit(cursor_page["after_url"])
    assert (after.netloc, after.path) == (netloc, "/api/v2/incremental/tickets/cursor.json")
    assert after.query == f"cursor={cursor_page['after_cursor'].replace('=', '%3D')}&per_page=2"
    assert urlsplit(time_page["next_page"]).netloc == netloc
    assert time_page["next_page"].endswith(f"?per_page=2&start_time={time_page['end_time']}")
    assert urlsplit(cursor_page["tickets"][0]["url"]).netloc == netloc


def test_paths_answer_with_and_without_json(sandbox: Sandbox) -> None:
    with_json = get(sandbox, "incremental/users/cursor.json", start_time=0).json()
    without = get(sandbox, "incremental/users/cursor", start_time=0).json()

    assert with_json["users"] == without["users"]
    assert without["after_url"].split("?")[0].endswith("/incremental/users/cursor")


def test_resuming_after_the_last_item_gives_the_recorded_empty_page(sandbox: Sandbox) -> None:
    first = get(sandbox, "incremental/users/cursor.json", start_time=0).json()

    again = get(sandbox, "incremental/users/cursor.json", cursor=first["after_cursor"]).json()

    assert first["end_of_stream"] is True and first["after_cursor"]
    assert again == {
        "users": [],
        "after_url": None,
        "before_url": None,
        "after_cursor": None,
        "before_cursor": None,
        "end_of_stream": True,
    }


def test_cursors_look_like_zendesks(sandbox: Sandbox) -> None:
    cursor = encode_cursor(1707271741, 4045)

    assert base64.b64decode(cursor) == b"1707271741.0||4045|"
    assert decode_cursor(cursor) == (1707271741, 4045)
    assert get(sandbox, "incremental/tickets/cursor.json", cursor="not base64!").status_code == 400


def test_time_export_keeps_items_of_one_second_together(sandbox: Sandbox) -> None:
    sandbox.update("organizations", {27104390551201, 27104390551202, 27104390551203}, "2026-11-20T10:00:00Z")
    stamp = 1795168800  # 2026-11-20T10:00:00Z

    body = get(sandbox, "incremental/organizations.json", start_time=stamp, per_page=1).json()
    assert (body["count"], body["end_time"], body["end_of_stream"]) == (3, stamp, True)
    sandbox.update("organizations", {27104390551204}, "2026-11-20T11:00:00Z")
    body = get(sandbox, "incremental/organizations.json", start_time=stamp, per_page=1).json()
    assert (body["count"], body["end_time"], body["end_of_stream"]) == (3, stamp + 1, False)


def test_exclude_deleted_leaves_out_deleted_tickets(sandbox: Sandbox) -> None:
    body = get(sandbox, "incremental/tickets/cursor.json", start_time=0, exclude_deleted="true").json()

    assert len(body["tickets"]) == 29 and all(t["status"] != "deleted" for t in body["tickets"])


def test_authentication_errors_have_zendesks_body(sandbox: Sandbox) -> None:
    wrong_token = get(sandbox, "users/me.json", auth=(f"{SANDBOX_EMAIL}/token", "nope"))
    password = get(sandbox, "users/me.json", auth=(SANDBOX_EMAIL, sandbox.env["ZENDESK_API_TOKEN"]))
    bearer = requests.get(
        f"https://{sandbox.env['ZENPY_FORCE_NETLOC']}/api/v2/users/me.json",
        headers={"Authorization": f"Bearer {sandbox.env['ZENDESK_OAUTH_TOKEN']}"},
        timeout=10,
    )

    assert (wrong_token.status_code, wrong_token.json()) == (401, {"error": "Couldn't authenticate you"})
    assert password.status_code == 401  # Basic email:password is not an API token
    assert bearer.status_code == 200 and bearer.json()["user"]["email"] == SANDBOX_EMAIL


def test_unknown_path_is_record_not_found(sandbox: Sandbox) -> None:
    answer = get(sandbox, "incremental/ticket_metrics.json", start_time=0)

    assert (answer.status_code, answer.json()) == (
        404,
        {"error": "RecordNotFound", "description": "Not found"},
    )


def test_answers_carry_the_rate_limit_headers(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox()
    cursor = get(sandbox, "incremental/tickets/cursor.json", start_time=0).headers
    time_based = get(sandbox, "incremental/organizations.json", start_time=0).headers

    assert (cursor["x-rate-limit"], cursor["x-rate-limit-remaining"]) == ("400", "399")
    assert cursor["zendesk-ratelimit-incremental-exports-cursor"] == "total=20; remaining=19; resets=60"
    assert time_based["zendesk-ratelimit-incremental-exports"] == "total=10; remaining=9; resets=60"
    assert time_based["x-rate-limit-remaining"] == "398" and time_based["ratelimit-reset"] == "60"


def test_429_answers_for_each_limit(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox()
    sandbox.account.rate_limit_next(1, retry_after=7)
    sandbox.account.rate_limit_next(1, retry_after=30, limit="plan")

    export = get(sandbox, "incremental/organizations.json", start_time=0)
    plan = get(sandbox, "incremental/organizations.json", start_time=0)

    assert (export.status_code, export.headers["Retry-After"]) == (429, "7")
    assert export.json() == {
        "error": "APIRateLimitExceeded",
        "description": "Number of allowed incremental export API requests per minute exceeded",
    }
    assert export.headers["zendesk-ratelimit-incremental-exports"] == "total=10; remaining=0; resets=7"
    assert (plan.status_code, plan.headers["Retry-After"], plan.headers["x-rate-limit-remaining"]) == (
        429,
        "30",
        "0",
    )
    assert plan.text == "Number of allowed API requests per minute exceeded"


def test_export_limit_per_minute_is_enforced(sandbox: Sandbox) -> None:
    sandbox.account.set_export_limits(time_based=2)

    statuses = [get(sandbox, "incremental/organizations.json", start_time=0).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert get(sandbox, "incremental/tickets/cursor.json", start_time=0).status_code == 200  # its own bucket


def test_seed_files_are_read_again_when_they_change(sandbox: Sandbox) -> None:
    organizations = sandbox.items("organizations")
    sandbox.write("organizations", organizations[:2])
    assert get(sandbox, "incremental/organizations.json", start_time=0).json()["count"] == 2

    (sandbox.data_dir / "organizations.json").write_text('[{"id": 1,')  # caught half-written
    assert get(sandbox, "incremental/organizations.json", start_time=0).json()["count"] == 2


def test_start_returns_what_a_recipe_and_zenpy_need(tmp_path: Path) -> None:
    emulator = ZendeskEmulator()
    tls = TLSFiles.in_dir(tmp_path / "tls")
    try:
        env = emulator.start(EmulatorContext(None, tmp_path / "state", tls))
    finally:
        emulator.stop()

    assert set(env) == {
        "ZENDESK_SUBDOMAIN",
        "ZENDESK_EMAIL",
        "ZENDESK_API_TOKEN",
        "ZENDESK_OAUTH_TOKEN",
        "ZENPY_FORCE_NETLOC",
        "ZENPY_FORCE_SCHEME",
    }
    assert env["ZENPY_FORCE_NETLOC"].startswith("127.0.0.1:") and env["ZENPY_FORCE_SCHEME"] == "https"


def test_limit_options_must_be_whole_numbers(tmp_path: Path) -> None:
    context = EmulatorContext(
        None, tmp_path, TLSFiles.in_dir(tmp_path / "tls"), {"zendesk_export_limit": "ten"}
    )

    with pytest.raises(ConfigError, match="zendesk_export_limit='ten'"):
        ZendeskEmulator().start(context)


def test_limit_options_set_the_limits(start_sandbox: Callable[..., Sandbox]) -> None:
    sandbox = start_sandbox(zendesk_rate_limit="700", zendesk_export_limit="30")

    headers = get(sandbox, "incremental/tickets/cursor.json", start_time=0).headers

    assert headers["x-rate-limit"] == "700"
    assert headers["zendesk-ratelimit-incremental-exports-cursor"].startswith("total=60;")
