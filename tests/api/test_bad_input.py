"""Bad input: a clear problem naming the field, and nothing stored changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from publisher.models import Item, ItemStatus
from publisher.timeutil import utcnow

from .conftest import assert_problem, db_state, item_body


@pytest.fixture()
def draft(api, world):  # type: ignore[no-untyped-def]
    status, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    assert status == 201
    return item


def _refused(api, runtime, method, path, who, body, status, field=None):  # type: ignore[no-untyped-def]
    before = db_state(runtime)
    code, problem, response = api.call(method, path, who, json_body=body)
    assert code == status, problem
    assert response.mimetype == "application/problem+json"
    assert_problem(problem, status, field)
    assert db_state(runtime) == before, "a refused request changed stored data"
    return problem


def test_unknown_opd(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body("tidak-ada"), 422, "opd")
    assert "tidak-ada" in problem["detail"]
    # Another OPD's slug looks exactly like an unknown one.
    other = _refused(api, runtime, "POST", "/items", world.editor_a, item_body("sei-rampah"),
                     422, "opd")
    assert other["title"] == problem["title"]
    _refused(api, runtime, "GET", "/items?opd=tidak-ada", world.editor_a, None, 422, "opd")


def test_unknown_channel(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, [world.site_a.id, 99999]), 422, "channel_ids")
    assert "99999" in problem["detail"]
    # Another OPD's channel is unknown here too.
    _refused(api, runtime, "POST", "/items", world.editor_a,
             item_body(world.a, [world.site_b.id]), 422, "channel_ids")


def test_time_in_the_past(api, world, runtime, draft) -> None:  # type: ignore[no-untyped-def]
    past = (utcnow() - timedelta(hours=1)).isoformat()
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, [world.site_a.id],
                                 schedule={"mode": "at", "at": past}), 422, "schedule.at")
    assert "lewat" in problem["detail"]
    _refused(api, runtime, "POST", f"/items/{draft['id']}/reschedule", world.editor_a,
             {"mode": "at", "at": "2020-01-01T08:00"}, 422, "schedule.at")
    _refused(api, runtime, "POST", f"/items/{draft['id']}/reschedule", world.editor_a,
             {"mode": "at", "at": "besok pagi"}, 422, "schedule.at")


def test_unknown_timezone(api, world, runtime, draft) -> None:  # type: ignore[no-untyped-def]
    future = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    problem = _refused(api, runtime, "POST", f"/items/{draft['id']}/reschedule", world.editor_a,
                       {"mode": "at", "at": future, "timezone": "Europe/Paris"}, 422,
                       "schedule.timezone")
    assert "Europe/Paris" in problem["detail"]
    _refused(api, runtime, "POST", "/opds", world.admin,
             {"name": "Dinas Baru", "timezone": "Asia/Tokyo"}, 422, "timezone")
    _refused(api, runtime, "GET", "/items?from=2026-01-01&timezone=Mars/Olympus",
             world.editor_a, None, 422, "timezone")


def test_oversized_body_html(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    huge = "<p>" + "a" * runtime.settings.max_body_bytes + "</p>"
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, [world.site_a.id], body_html=huge), 422, "body_html")
    assert str(runtime.settings.max_body_bytes) in problem["detail"]


def test_request_over_max_content_length(api, app, world, runtime) -> None:  # type: ignore[no-untyped-def]
    app.config["MAX_CONTENT_LENGTH"] = 4096
    before = db_state(runtime)
    body = item_body(world.a, [world.site_a.id], body_html="x" * 8000)
    status, problem, response = api.post("/items", world.editor_a, body)
    assert status == 413
    assert response.mimetype == "application/problem+json"
    assert_problem(problem, 413)
    assert db_state(runtime) == before


def test_hostile_html_is_stored_clean(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    hostile = ('<p onclick="steal()">Halo<script>alert(1)</script>'
               '<img src="x" onerror="alert(2)"><a href="javascript:alert(3)">klik</a></p>')
    status, item, _ = api.post("/items", world.editor_a,
                               item_body(world.a, [world.site_a.id], body_html=hostile))
    assert status == 201
    with runtime.db.read() as s:
        stored = s.get(Item, item["id"]).body_html
    for text in (stored, item["body_html"]):
        lowered = text.lower()
        assert "<script" not in lowered and "alert(1)" not in lowered
        assert "onerror" not in lowered and "onclick" not in lowered
        assert "javascript:" not in lowered
        assert "Halo" in text and "klik" in text


EXEMPT = {"category": "dikecualikan", "exemption_article": "h",
          "exemption_basis": "UU 14/2008 Pasal 17 huruf h", "exemption_until": "2030-12-31"}


def test_exempt_item_cannot_be_scheduled(api, world, runtime, make) -> None:  # type: ignore[no-untyped-def]
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, [world.site_a.id], schedule=make.in_a_minute(),
                                 **EXEMPT), 422, "category")
    assert "Pasal 17" in problem["detail"]
    assert problem["type"].endswith("exempt-information")
    # Without targets it may be recorded (for the register of exempt information) ...
    status, item, _ = api.post("/items", world.editor_a, item_body(world.a, **EXEMPT))
    assert status == 201, item
    # ... but never submitted, scheduled or approved.
    for path, body in ((f"/items/{item['id']}/submit", {}),
                       (f"/items/{item['id']}/reschedule", make.in_a_minute())):
        problem = _refused(api, runtime, "POST", path, world.editor_a, body, 422, "category")
        assert "Pasal 17 huruf h" in problem["detail"]
    # Even if it were waiting for approval, approval is refused.
    with runtime.db.write() as s:
        s.execute(update(Item).where(Item.id == item["id"]).values(status=ItemStatus.SUBMITTED))
    problem = _refused(api, runtime, "POST", f"/items/{item['id']}/approve",
                       world.approver_a, {}, 422, "category")
    assert "Pasal 17" in problem["detail"] and "disetujui" in problem["detail"]


def test_exempt_item_needs_its_article(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    _refused(api, runtime, "POST", "/items", world.editor_a,
             item_body(world.a, category="dikecualikan"), 422, "exemption_article")


def test_other_opds_item_is_not_found(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    status, theirs, _ = api.post("/items", world.editor_b, item_body(world.b, [world.site_b.id]))
    assert status == 201
    existing = _refused(api, runtime, "GET", f"/items/{theirs['id']}", world.editor_a, None, 404)
    missing = _refused(api, runtime, "GET", "/items/987654", world.editor_a, None, 404)
    assert existing["title"] == missing["title"] and existing["type"] == missing["type"]
    for method, path, body in (
        ("PATCH", f"/items/{theirs['id']}", {"title": "Diubah"}),
        ("POST", f"/items/{theirs['id']}/submit", {}),
        ("POST", f"/items/{theirs['id']}/cancel", {}),
        ("GET", f"/items/{theirs['id']}/preview", None),
    ):
        _refused(api, runtime, method, path, world.editor_a, body, 404)


def test_malformed_token(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    for header in ("Bearer", "Bearer abc", "Token opdp_" + "a" * 40, "Bearer opdp_short",
                   "Bearer opdp_" + "a" * 40 + "!"):
        before = db_state(runtime)
        status, problem, response = api.get("/items", headers={"Authorization": header})
        assert status == 401, header
        assert_problem(problem, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert db_state(runtime) == before


def test_wrong_type_in_json(api, world, runtime, draft) -> None:  # type: ignore[no-untyped-def]
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, title=123), 422, "title")
    assert "harus teks" in problem["errors"][0]["detail"]
    problem = _refused(api, runtime, "POST", "/items", world.editor_a,
                       item_body(world.a, ["1"]), 422, "channel_ids.0")
    assert problem["errors"][0]["pointer"] == "/channel_ids/0"
    _refused(api, runtime, "POST", "/items", world.editor_a,
             item_body(world.a, schedule="besok"), 422, "schedule")
    _refused(api, runtime, "POST", "/items", world.editor_a,
             item_body(world.a, made_at="kemarin"), 422, "made_at")
    _refused(api, runtime, "POST", "/items", world.editor_a,
             item_body(world.a, warna="merah"), 422, "warna")
    _refused(api, runtime, "PATCH", f"/items/{draft['id']}", world.editor_a,
             {"summary": "baru", "info_formats": "online"}, 422, "info_formats")
    _refused(api, runtime, "POST", f"/items/{draft['id']}/approve", world.approver_a,
             {"comment": ["x"]}, 422, "comment")


def test_invalid_json_and_unknown_routes(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    before = db_state(runtime)
    status, problem, _ = api.call("POST", "/items", world.editor_a, data="{not json",
                                  headers={"Content-Type": "application/json"})
    assert status == 400
    assert_problem(problem, 400)
    status, problem, response = api.call("DELETE", "/items", world.editor_a)
    assert status == 405 and "GET" in response.headers["Allow"]
    assert_problem(problem, 405)
    status, problem, response = api.get("/tidak-ada", world.editor_a)
    assert status == 404 and response.mimetype == "application/problem+json"
    # Outside /api/ the other areas answer their own way.
    assert api.client.get("/bukan-api/sama-sekali").mimetype != "application/problem+json"
    assert db_state(runtime) == before


def test_failed_change_leaves_item_as_it_was(api, world, runtime, draft) -> None:  # type: ignore[no-untyped-def]
    # A valid title plus an invalid link: the title must not be half-applied.
    _refused(api, runtime, "PATCH", f"/items/{draft['id']}", world.editor_a,
             {"title": "Judul baru", "link": "ftp://contoh"}, 422, "link")
    # A valid change plus channels of another OPD.
    _refused(api, runtime, "PATCH", f"/items/{draft['id']}", world.editor_a,
             {"summary": "baru", "channel_ids": [world.site_b.id]}, 422, "channel_ids")
    with runtime.db.read() as s:
        assert s.scalars(select(Item.title).where(Item.id == draft["id"])).one() == draft["title"]
