"""Inputs that once answered 500: each is now a 4xx problem naming what is wrong.

Ids are 1..2^63-1: beyond that a path matches no route (404) and a body or filter is a 422
naming the field. Secrets that travel in HTTP headers must be printable ASCII. A caller
without the role gets 403 before the body is looked at; a body the document marks required
must be there; booleans are booleans.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest

from .conftest import assert_problem, db_state, item_body

BIG = 2**63  # one past the largest BIGINT
HUGE = 10**30

#: (name, method, path, body, status, field); ``{item}``/``{channel}`` are the world's ids.
CASES: list[tuple[str, str, str, Any, int, str | None]] = [
    ("item_path", "GET", f"/items/{BIG}", None, 404, None),
    ("item_path_zero", "GET", "/items/0", None, 404, None),
    ("item_path_huge", "GET", f"/items/{HUGE}", None, 404, None),
    ("item_submit_path", "POST", f"/items/{BIG}/submit", {}, 404, None),
    ("item_patch_path", "PATCH", f"/items/{BIG}", {"title": "x"}, 404, None),
    ("publication_path", "GET", f"/publications/{BIG}", None, 404, None),
    ("publication_retry_path", "POST", f"/publications/{BIG}/retry", {}, 404, None),
    ("channel_path", "PATCH", f"/channels/{BIG}", {"name": "x"}, 404, None),
    ("feed_path", "GET", f"/feeds/{BIG}", None, 404, None),
    ("opd_path", "GET", f"/opds/{BIG}", None, 404, None),
    ("media_path", "GET", f"/media/{BIG}", None, 404, None),
    ("meta_opd_path", "POST", f"/opds/{BIG}/meta/discover", {"token": "EAAB" + "x" * 20},
     404, None),
    ("page_filter", "GET", f"/items?page={BIG}", None, 422, "page"),
    ("per_page_filter", "GET", f"/items?per_page={BIG}", None, 422, "per_page"),
    ("items_opd_filter", "GET", f"/items?opd={BIG}", None, 422, "opd"),
    ("publications_item_filter", "GET", f"/publications?item={BIG}", None, 422, "item"),
    ("publications_channel_filter", "GET", f"/publications?channel={BIG}", None, 422,
     "channel"),
    ("publications_opd_filter", "GET", f"/publications?opd={HUGE}", None, 422, "opd"),
    ("audit_item_filter", "GET", f"/audit?item={BIG}", None, 422, "item"),
    ("media_item_filter", "GET", f"/media?item={BIG}", None, 422, "item"),
    ("channels_opd_filter", "GET", f"/channels?opd={BIG}", None, 422, "opd"),
    ("feeds_opd_filter", "GET", f"/feeds?opd={BIG}", None, 422, "opd"),
    ("register_opd_filter", "GET", f"/register?opd={BIG}", None, 422, "opd"),
    ("item_body_opd", "POST", "/items", {"opd": BIG, "title": "x"}, 422, "opd"),
    ("item_body_channel_ids", "POST", "/items", {"opd": "kominfo", "title": "x",
                                                  "channel_ids": [BIG]}, 422, "channel_ids"),
    ("item_patch_channel_ids", "PATCH", "/items/{item}", {"channel_ids": [HUGE]}, 422,
     "channel_ids"),
    ("channel_body_opd", "POST", "/channels", {"opd": BIG, "kind": "site", "name": "x"},
     422, "opd"),
    ("feed_body_channel_ids", "POST", "/feeds", {"opd": "kominfo", "name": "x",
                                                  "url": "https://example.org/feed",
                                                  "target_channel_ids": [BIG]}, 422,
     "target_channel_ids"),
    ("opd_body_parent", "POST", "/opds", {"name": "Dinas Baru", "parent": BIG}, 422,
     "parent"),
    ("meta_token_not_latin1", "POST", "/opds/kominfo/meta/discover",
     {"token": "EAAB\u20ac\u4e2d" + "x" * 20}, 422, "token"),
    ("meta_token_newline", "POST", "/opds/kominfo/meta/discover",
     {"token": "EAAB" + "x" * 20 + "\r\nX-Evil: 1"}, 422, "token"),
    ("wordpress_password_not_latin1", "POST", "/channels",
     {"opd": "kominfo", "kind": "wordpress", "name": "WP",
      "config": {"url": "https://wp.example.org", "username": "budi"},
      "secrets": {"app_password": "abcd \u20ac\u4e2d efgh"}}, 422, "secrets.app_password"),
    ("webhook_secret_not_latin1", "POST", "/channels",
     {"opd": "kominfo", "kind": "webhook", "name": "CMS",
      "config": {"url": "http://127.0.0.1:9/hook"},
      "secrets": {"signing_secret": "whsec_\u20ac\u4e2d"}}, 422, "secrets.signing_secret"),
    ("channel_patch_secret_not_latin1", "PATCH", "/channels/{channel}",
     {"secrets": {"signing_secret": "\u4e2d"}}, 422, "secrets.signing_secret"),
    ("boolean_as_yes", "POST", "/opds", {"name": "Dinas Baru", "approval_required": "yes"},
     422, "approval_required"),
    ("boolean_as_one", "POST", "/feeds", {"opd": "kominfo", "name": "x",
                                          "url": "https://example.org/feed",
                                          "target_channel_ids": [], "enabled": 1}, 422,
     "enabled"),
    ("query_boolean_as_yes", "GET", "/register?descendants=yes", None, 422, "descendants"),
    ("required_body_missing", "POST", "/items", None, 422, None),
    ("patch_body_missing", "PATCH", "/items/{item}", None, 422, None),
]


@pytest.fixture()
def ids(api: Any, world: Any, make: Any) -> dict[str, int]:
    status, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    assert status == 201
    hook = make.channel(world.a, "webhook", "CMS", config={"url": "http://127.0.0.1:9/hook"})
    return {"item": item["id"], "channel": hook.id}


@pytest.mark.parametrize(("name", "method", "path", "body", "status", "field"), CASES,
                         ids=[c[0] for c in CASES])
def test_no_server_error(api: Any, world: Any, runtime: Any, ids: dict[str, int], name: str,
                         method: str, path: str, body: Any, status: int,
                         field: str | None) -> None:
    """Each case answers its 4xx problem (naming the field) and changes nothing stored."""
    before = db_state(runtime)
    code, problem, response = api.call(method, path.format(**ids), world.admin, json_body=body)
    assert code == status, problem
    assert response.mimetype == "application/problem+json"
    assert_problem(problem, status)
    if field is not None:
        fields = [e["field"] for e in problem.get("errors", [])]
        assert any(f == field or f.startswith(field + ".") for f in fields), problem
    assert db_state(runtime) == before


def test_media_item_id_out_of_range(api: Any, world: Any, runtime: Any) -> None:
    """A multipart ``item_id`` beyond 64 bits is a 422 naming it."""
    response = api.client.post("/api/v1/media", headers=world.editor_a.auth,
                               content_type="multipart/form-data",
                               data={"file": (BytesIO(b"x"), "a.png"), "alt_text": "foto",
                                     "item_id": str(BIG)})
    assert response.status_code == 422, response.json
    assert "item_id" in [e["field"] for e in response.json["errors"]]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/opds", {"name": 5, "approval_required": "yes"}),
    ("POST", "/opds", None),
    ("POST", "/channels", {"opd": [], "kind": 1}),
    ("POST", "/items/{item}/approve", {"comment": ["not", "text"]}),
    ("POST", "/opds/kominfo/meta/connect", {"token": 1}),
], ids=["opd_create_invalid", "opd_create_no_body", "channel_create_invalid",
        "approve_invalid", "meta_connect_invalid"])
def test_role_checked_before_body(api: Any, world: Any, ids: dict[str, int], method: str,
                                  path: str, body: Any) -> None:
    """An editor without the role gets 403 even when the body is invalid or missing."""
    code, problem, _ = api.call(method, path.format(**ids), world.editor_a, json_body=body)
    assert code == 403, problem
    assert_problem(problem, 403)


def test_comment_body_optional(api: Any, world: Any, ids: dict[str, int]) -> None:
    """Where the document marks the body optional (a comment), none is needed."""
    status, problem, _ = api.call("POST", f"/items/{ids['item']}/submit", world.editor_a)
    assert status == 200, problem
    status, problem, _ = api.call("POST", f"/items/{ids['item']}/approve", world.approver_a)
    assert status == 200, problem


def test_json_body_with_other_media_type(api: Any, world: Any) -> None:
    """A required JSON body sent as text/plain is a 415, not a misleading 422."""
    response = api.client.post("/api/v1/opds", headers=world.admin.auth, data='{"name": "x"}',
                               content_type="text/plain")
    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
