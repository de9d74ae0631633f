"""A user of OPD A can neither list, read nor change anything of OPD B."""

from __future__ import annotations

from .conftest import db_state, item_body


def test_opd_a_user_cannot_see_or_touch_opd_b(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    theirs = make.published_item(world.editor_b, world.approver_b, world.b, [world.site_b.id])
    _, mine, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    _, their_item, _ = api.get(f"/items/{theirs.id}", world.editor_b)
    pub_id = their_item["publications"][0]["id"]

    status, page, _ = api.get("/items", world.editor_a)
    assert [i["id"] for i in page["items"]] == [mine["id"]]
    status, page, _ = api.get("/publications", world.editor_a)
    assert page["items"] == []
    status, page, _ = api.get("/channels", world.editor_a)
    assert [c["id"] for c in page["items"]] == [world.site_a.id]
    status, page, _ = api.get("/opds", world.editor_a)
    assert [o["slug"] for o in page["items"]] == ["kominfo"]
    status, page, _ = api.get("/audit?per_page=200", world.editor_a)
    assert page["items"] and {e["opd_id"] for e in page["items"]} == {world.a.id}

    before = db_state(runtime)
    for method, path, body in (
        ("GET", f"/items/{theirs.id}", None),
        ("PATCH", f"/items/{theirs.id}", {"summary": "diubah"}),
        ("POST", f"/items/{theirs.id}/cancel", {}),
        ("POST", f"/items/{theirs.id}/reschedule", make.in_a_minute()),
        ("GET", f"/publications/{pub_id}", None),
        ("POST", f"/publications/{pub_id}/cancel", {}),
        ("POST", f"/publications/{pub_id}/retry", {}),
        ("GET", f"/channels/{world.site_b.id}", None),
        ("PATCH", f"/channels/{world.site_b.id}", {"name": "Dibajak"}),
        ("DELETE", f"/channels/{world.site_b.id}", None),
        ("POST", f"/channels/{world.site_b.id}/pause", {}),
        ("POST", f"/channels/{world.site_b.id}/test", {}),
        ("GET", f"/opds/{world.b.id}", None),
    ):
        status, problem, _ = api.call(method, path, world.approver_a, json_body=body)
        assert status == 404, (method, path, problem)
        assert problem["status"] == 404
    for path in (f"/items?opd={world.b.slug}", f"/publications?opd={world.b.id}",
                 f"/channels?opd={world.b.slug}", f"/audit?opd={world.b.slug}",
                 f"/media?opd={world.b.slug}"):
        status, problem, _ = api.get(path, world.approver_a)
        assert status == 422, path
    status, page, _ = api.get(f"/audit?item={theirs.id}", world.approver_a)
    assert page["items"] == []
    status, page, _ = api.get(f"/publications?item={theirs.id}", world.approver_a)
    assert page["items"] == []
    assert db_state(runtime) == before


def test_admin_and_auditor_see_every_opd(api, world, make) -> None:  # type: ignore[no-untyped-def]
    make.item(world.editor_b, world.b, [world.site_b.id])
    make.item(world.editor_a, world.a, [world.site_a.id])
    for who in (world.admin, world.auditor):
        status, page, _ = api.get("/items", who)
        assert status == 200 and page["total"] == 2
        status, page, _ = api.get("/opds", who)
        assert status == 200 and {o["slug"] for o in page["items"]} == {"kominfo", "sei-rampah"}
