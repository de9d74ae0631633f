"""Items through the API: the whole flow, the workflow rules and the schedule."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from publisher.models import Item, Priority, Publication, PublicationStatus
from publisher.timeutil import utcnow

from .conftest import assert_problem, item_body


def test_full_flow_create_submit_approve_publish(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    status, item, resp = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    assert status == 201, item
    assert resp.headers["Location"].endswith(f"/api/v1/items/{item['id']}")
    assert item["status"] == "draft" and item["version"] == 1
    assert item["channel_ids"] == [world.site_a.id]
    assert item["info_formats"] == ["cetak", "online"]
    assert item["created_at"].endswith("Z") and item["created_at_local"].endswith("WIB")

    status, item, _ = api.post(f"/items/{item['id']}/submit", world.editor_a)
    assert status == 200 and item["status"] == "submitted"
    status, item, _ = api.post(f"/items/{item['id']}/approve", world.approver_a,
                               {"comment": "Silakan terbit"})
    assert status == 200, item
    assert item["status"] == "approved" and item["review_comment"] == "Silakan terbit"
    assert [p["status"] for p in item["publications"]] == ["scheduled"]

    assert make.dispatcher().drain() == 1
    status, item, _ = api.get(f"/items/{item['id']}", world.editor_a)
    assert status == 200
    (pub,) = item["publications"]
    assert pub["status"] == "published"
    assert pub["url"].endswith(f"/o/kominfo/i/{item['id']}/jadwal-posyandu-desa-firdaus")
    assert pub["published_at_local"].endswith("WIB")
    assert [v["version"] for v in item["versions"]] == [1]

    status, pubs, _ = api.get(f"/publications?item={item['id']}&status=published",
                              world.approver_a)
    assert status == 200 and [p["id"] for p in pubs["items"]] == [pub["id"]]


def test_approve_own_item_is_refused(api, world) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.approver_a, item_body(world.a, [world.site_a.id]))
    assert api.post(f"/items/{item['id']}/submit", world.approver_a)[0] == 200
    status, body, _ = api.post(f"/items/{item['id']}/approve", world.approver_a)
    assert status == 403
    assert_problem(body, 403)
    assert "sendiri" in body["detail"]


def test_editor_cannot_approve(api, world) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    status, body, _ = api.post(f"/items/{item['id']}/approve", world.editor_a)
    assert status == 403 and body["status"] == 403


def test_serta_merta_goes_out_now_with_top_priority(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    later = (utcnow() + timedelta(days=3)).isoformat()
    _, item, _ = api.post("/items", world.editor_a, item_body(
        world.a, [world.site_a.id], category="serta_merta",
        schedule={"mode": "at", "at": later}))
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    before = utcnow()
    status, item, _ = api.post(f"/items/{item['id']}/approve", world.approver_a)
    assert status == 200
    (pub,) = item["publications"]
    assert pub["priority"] == Priority.SERTA_MERTA
    due = datetime.fromisoformat(pub["due_at"].replace("Z", "+00:00"))
    assert due <= utcnow() and due >= before - timedelta(seconds=5)


def test_return_with_comment_and_resubmit(api, world) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    status, body, _ = api.post(f"/items/{item['id']}/return", world.approver_a, {"comment": ""})
    assert status == 422 and body["errors"][0]["field"] == "comment"
    status, item, _ = api.post(f"/items/{item['id']}/return", world.approver_a,
                               {"comment": "Lengkapi ringkasan"})
    assert status == 200 and item["status"] == "returned"
    assert api.post(f"/items/{item['id']}/submit", world.editor_a)[0] == 200


def test_reschedule_then_cancel_until_sending_starts(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    in_two_days = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    _, item, _ = api.post("/items", world.editor_a, item_body(
        world.a, [world.site_a.id], schedule={"mode": "at", "at": in_two_days.isoformat()}))
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    _, item, _ = api.post(f"/items/{item['id']}/approve", world.approver_a)
    assert item["publications"][0]["due_at"] == in_two_days.isoformat().replace("+00:00", "Z")

    # Local time without an offset is the OPD's zone (WIB = UTC+7).
    local = (utcnow() + timedelta(days=5)).strftime("%Y-%m-%dT08:00")
    status, item, _ = api.post(f"/items/{item['id']}/reschedule", world.editor_a,
                               {"mode": "at", "at": local})
    assert status == 200, item
    assert item["publications"][0]["due_at"].endswith("T01:00:00Z")
    assert item["publications"][0]["due_at_local"].endswith("08:00 WIB")

    # Once sending has started, the publication can be neither moved nor cancelled.
    with runtime.db.write() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == item["id"])).one()
        pub.status = PublicationStatus.SENDING
    moved_to = (utcnow() + timedelta(days=9)).isoformat()
    status, after, _ = api.post(f"/items/{item['id']}/reschedule", world.editor_a,
                                {"mode": "at", "at": moved_to})
    assert status == 200
    assert after["publications"][0]["due_at"] == item["publications"][0]["due_at"]
    status, after, _ = api.post(f"/items/{item['id']}/cancel", world.editor_a)
    assert status == 200 and after["status"] == "cancelled"
    assert after["publications"][0]["status"] == "sending"

    status, body, _ = api.post(f"/items/{item['id']}/cancel", world.editor_a)
    assert status == 409 and body["status"] == 409


def test_cancel_before_sending_cancels_publications(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(
        world.a, [world.site_a.id], schedule=make.in_a_minute()))
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    api.post(f"/items/{item['id']}/approve", world.approver_a)
    status, item, _ = api.post(f"/items/{item['id']}/cancel", world.editor_a)
    assert status == 200
    assert [p["status"] for p in item["publications"]] == ["cancelled"]
    pub_id = item["publications"][0]["id"]
    status, body, _ = api.post(f"/publications/{pub_id}/cancel", world.editor_a)
    assert status == 409 and body["errors"][0]["field"] == "status"


def test_patch_changes_content_and_versions(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    status, item, _ = api.patch(f"/items/{item['id']}", world.editor_a,
                                {"summary": "Ringkasan baru", "made_at": None})
    assert status == 200, item
    assert item["summary"] == "Ringkasan baru" and item["made_at"] is None
    assert item["version"] == 2 and [v["version"] for v in item["versions"]] == [1, 2]
    assert item["title"] == "Jadwal Posyandu Desa Firdaus"


def test_list_filters_and_paging(api, world, make) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id],
                                                     title=f"Anggaran {n}"))
    api.post("/items", world.editor_a, item_body(world.a, [], title="Laporan kinerja",
                                                 category="setiap_saat"))
    status, page, _ = api.get("/items?opd=kominfo&q=anggaran&per_page=2", world.editor_a)
    assert status == 200
    assert page["total"] == 3 and len(page["items"]) == 2 and page["page"] == 1
    status, page, _ = api.get("/items?category=setiap_saat", world.editor_a)
    assert [i["title"] for i in page["items"]] == ["Laporan kinerja"]
    # "today" as the filter reads it: in the zone named (after 15:00 UTC it is tomorrow in WIT).
    today = utcnow().astimezone(ZoneInfo("Asia/Jayapura")).date().isoformat()
    status, page, _ = api.get(f"/items?from=2000-01-01&to={today}&timezone=Asia/Jayapura",
                              world.editor_a)
    assert status == 200 and page["total"] == 4
    status, page, _ = api.get("/items?from=2000-01-01&to=2000-01-02", world.editor_a)
    assert page["total"] == 0
    status, page, _ = api.get("/items?status=draft&opd=" + str(world.a.id), world.admin)
    assert page["total"] == 4


def test_preview_is_the_payload_that_would_be_sent(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    status, preview, _ = api.get(f"/items/{item['id']}/preview", world.editor_a)
    assert status == 200, preview
    (entry,) = preview["channels"]
    assert entry["channel_id"] == world.site_a.id and entry["kind"] == "site"
    payload = entry["payload"]
    assert payload["title"] == "Jadwal Posyandu Desa Firdaus"
    assert payload["link"] == item["site_url"]
    assert "Posyandu dibuka" in payload["html"]
    # The same render the sender does, from the same context.
    from publisher.payloads import context_for_item

    with runtime.db.read() as s:
        row = s.get(Item, item["id"])
        expected = runtime.channel(row.targets[0]).render(
            context_for_item(row, 0, runtime.settings), runtime.renderer).preview()
    assert payload == expected
