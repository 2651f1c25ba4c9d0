"""``GET /v1/users/me``, ``GET /v1/users``, ``GET /v1/users/{user_id}`` (DOC reference/user).

Users are ``{"object":"user","id","name","avatar_url","type":"person","person":{"email"}}`` or,
for the integration, ``"type":"bot"`` with ``bot: {owner, workspace_name, workspace_id,
workspace_limits}``. The list is paginated with ``start_cursor``/``page_size`` query parameters
and has ``"type":"user","user":{}``.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .query import paginate, query_page_size
from .values import user_json
from .workspace import WORKSPACE_NAME, Workspace, path_id


def me(ws: Workspace) -> dict[str, Any]:
    """The integration's bot user."""
    with ws.store.transaction():
        return _user(ws, ws.bot_user_id)


def retrieve(ws: Workspace, raw_id: str) -> dict[str, Any]:
    """One user (404 ``Could not find user``)."""
    user_id = path_id(raw_id, "user_id")
    with ws.store.transaction():
        if user_id not in ws.store.users:
            raise errors.not_found("user", user_id)
        return _user(ws, user_id)


def list_users(ws: Workspace, start_cursor: str | None, page_size: str | None) -> dict[str, Any]:
    """Every user of the workspace, bot included, in creation order."""
    size = query_page_size(page_size)
    with ws.store.transaction():
        users = list(ws.store.users.values())
        results, next_cursor = paginate(
            users, lambda u: u.id, lambda u: True, start_cursor, size, "query.start_cursor"
        )
        return {
            "object": "list",
            "results": [_user(ws, user.id) for user in results],
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
            "type": "user",
            "user": {},
        }


def _user(ws: Workspace, user_id: str) -> dict[str, Any]:
    user = ws.store.users[user_id]
    result = user_json(user, user.id)
    if user.type == "bot":
        result["bot"] = {
            "owner": {"type": "workspace", "workspace": True},
            "workspace_name": WORKSPACE_NAME,
            "workspace_id": ws.store.meta["workspace_id"],
            "workspace_limits": {"max_file_upload_size_in_bytes": 5_368_709_120},
        }
    return result
