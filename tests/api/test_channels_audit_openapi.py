"""Channels (secrets never returned), audit list/verify, OPDs and the OpenAPI document."""

from __future__ import annotations

import json

from openapi_spec_validator import validate
from sqlalchemy import update

from publisher.models import AuditEvent

from ..tampering import unguarded
from .conftest import assert_problem, item_body

WEBHOOK = {"url": "http://127.0.0.1:9/hook"}


def test_channel_crud_never_returns_secrets(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    body = {"opd": "kominfo", "kind": "webhook", "name": "Situs CMS", "config": WEBHOOK,
            "secrets": {"signing_secret": "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQ="},
            "schedule": [{"days": [0, 1, 2, 3, 4], "times": ["08:00", "12:00"]}]}
    status, channel, resp = api.post("/channels", world.approver_a, body)
    assert status == 201, channel
    raw = resp.get_data(as_text=True)
    assert "c2VjcmV0" not in raw and "whsec_" not in raw
    assert channel["has_secrets"] is True and channel["secret_fields"] == ["signing_secret"]
    assert channel["schedule"] == [{"days": [0, 1, 2, 3, 4], "times": ["08:00", "12:00"]}]
    cid = channel["id"]
    status, got, resp = api.get(f"/channels/{cid}", world.editor_a)
    assert status == 200 and "c2VjcmV0" not in resp.get_data(as_text=True)
    assert got["secret_fields"] == ["signing_secret"] and "secrets" not in got
    status, changed, _ = api.patch(f"/channels/{cid}", world.approver_a, {"name": "CMS Desa"})
    assert status == 200 and changed["name"] == "CMS Desa" and changed["has_secrets"]
    status, paused, _ = api.post(f"/channels/{cid}/pause", world.approver_a)
    assert status == 200 and paused["status"] == "paused"
    assert api.post(f"/channels/{cid}/pause", world.approver_a)[0] == 409
    status, resumed, _ = api.post(f"/channels/{cid}/resume", world.approver_a)
    assert status == 200 and resumed["status"] == "active"
    # Editors may not manage channels.
    status, problem, _ = api.patch(f"/channels/{cid}", world.editor_a, {"name": "x"})
    assert status == 403
    assert_problem(problem, 403)
    status, _, _ = api.delete(f"/channels/{cid}", world.approver_a)
    assert status == 204
    assert api.get(f"/channels/{cid}", world.approver_a)[0] == 404


def test_channel_bad_input(api, world) -> None:  # type: ignore[no-untyped-def]
    status, problem, _ = api.post("/channels", world.approver_a,
                                  {"opd": "kominfo", "kind": "merpati", "name": "x"})
    assert status == 422
    assert_problem(problem, 422, "kind")
    status, problem, _ = api.post("/channels", world.approver_a,
                                  {"opd": "kominfo", "kind": "webhook", "name": "x",
                                   "config": {}})
    assert status == 422 and problem["errors"][0]["field"].startswith("config.")
    status, problem, _ = api.post("/channels", world.approver_a,
                                  {"opd": "kominfo", "kind": "site", "name": "x",
                                   "schedule": [{"days": [9], "times": ["08:00"]}]})
    assert status == 422 and problem["errors"][0]["field"] == "schedule[0].days"
    status, problem, _ = api.post("/channels", world.approver_a,
                                  {"opd": "kominfo", "kind": "site", "name": "x",
                                   "min_interval_seconds": "10"})
    assert status == 422
    assert_problem(problem, 422, "min_interval_seconds")


def test_channel_with_history_cannot_be_deleted(api, world, make) -> None:  # type: ignore[no-untyped-def]
    make.published_item(world.editor_a, world.approver_a, world.a, [world.site_a.id])
    status, problem, _ = api.delete(f"/channels/{world.site_a.id}", world.approver_a)
    assert status == 409 and "pause" in problem["detail"]


def test_channel_test_records_health(api, world) -> None:  # type: ignore[no-untyped-def]
    status, problem, _ = api.post(f"/channels/{world.site_a.id}/test", world.editor_a)
    assert status == 403, problem  # the same rule as the admin UI: channel managers only
    status, result, _ = api.post(f"/channels/{world.site_a.id}/test", world.approver_a)
    assert status == 200, result
    assert result["ok"] is True
    assert result["channel"]["health_ok"] is True
    assert result["channel"]["health_checked_at_local"].endswith("WIB")
    status, page, _ = api.get(f"/audit?action=channel.tested&opd={world.a.id}", world.editor_a)
    assert page["total"] == 1


def test_publication_retry_and_list_filters(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    from publisher.models import Publication, PublicationStatus

    item = make.published_item(world.editor_a, world.approver_a, world.a, [world.site_a.id])
    with runtime.db.write() as s:
        s.execute(update(Publication).where(Publication.item_id == item.id)
                  .values(status=PublicationStatus.FAILED, last_error="gagal"))
    status, page, _ = api.get("/publications?status=failed&opd=kominfo", world.editor_a)
    assert page["total"] == 1
    pub = page["items"][0]
    assert pub["channel_kind"] == "site" and pub["due_at_local"].endswith("WIB")
    status, pub, _ = api.post(f"/publications/{pub['id']}/retry", world.editor_a)
    assert status == 200 and pub["status"] == "scheduled"
    assert make.dispatcher().drain() == 1
    status, pub, _ = api.get(f"/publications/{pub['id']}", world.editor_a)
    assert pub["status"] == "published" and pub["url"]
    status, page, _ = api.get(f"/publications?channel={world.site_a.id}&from=2000-01-01",
                              world.editor_a)
    assert page["total"] == 1
    status, problem, _ = api.get("/publications?from=kemarin", world.editor_a)
    assert status == 422
    assert_problem(problem, 422, "from")


def test_audit_list_and_verify(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    status, page, _ = api.get(f"/audit?item={item['id']}", world.editor_a)
    assert status == 200
    (event,) = page["items"]
    assert event["action"] == "item.created" and event["at"].endswith("Z")
    assert event["at_local"].endswith("WIB") and event["actor_name"]
    status, page, _ = api.get("/audit?action=item.created&from=2000-01-01&to=2000-12-31",
                              world.editor_a)
    assert page["total"] == 0
    status, problem, _ = api.get("/audit/verify", world.editor_a)
    assert status == 403
    assert_problem(problem, 403)
    for who in (world.admin, world.auditor):
        status, result, _ = api.get("/audit/verify", who)
        assert status == 200 and result["ok"] is True and result["checked"] > 0
    # Someone with database access gets past the append-only triggers and edits an event:
    # verify names it. (Triggers are restored in the same transaction.)
    with runtime.db.write() as s, unguarded(s.connection()):
        s.execute(update(AuditEvent).where(AuditEvent.seq == event["seq"])
                  .values(actor_name="Orang Lain"))
    status, result, _ = api.get("/audit/verify", world.auditor)
    assert result["ok"] is False and event["seq"] in result["bad_seqs"]
    assert any(f"#{event['seq']}" in p for p in result["problems"])


def test_opds_create_is_admin_only(api, world) -> None:  # type: ignore[no-untyped-def]
    status, problem, _ = api.post("/opds", world.approver_a, {"name": "Desa Firdaus"})
    assert status == 403
    status, opd, resp = api.post("/opds", world.admin, {
        "name": "Desa Firdaus", "parent": "sei-rampah", "timezone": "Asia/Makassar"})
    assert status == 201, opd
    assert resp.headers["Location"].endswith(f"/api/v1/opds/{opd['id']}")
    assert opd["slug"] == "desa-firdaus" and opd["parent_id"] == world.b.id
    assert opd["timezone_label"] == "WITA" and opd["created_at_local"].endswith("WITA")
    status, problem, _ = api.post("/opds", world.admin, {"name": "Desa X", "parent": "entah"})
    assert status == 422
    assert_problem(problem, 422, "parent")
    status, problem, _ = api.post("/opds", world.admin, {"name": "Desa Firdaus"})
    assert status == 409


def test_openapi_document(api, client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.data)
    assert doc["openapi"].startswith("3.")
    validate(doc)  # a valid OpenAPI 3 document, not just JSON
    for path in ("/api/v1/items", "/api/v1/items/{item_id}", "/api/v1/items/{item_id}/approve",
                 "/api/v1/items/{item_id}/preview", "/api/v1/publications/{pub_id}/retry",
                 "/api/v1/channels/{channel_id}/test", "/api/v1/media", "/api/v1/audit/verify",
                 "/api/v1/users/me", "/api/v1/opds"):
        assert path in doc["paths"], path
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    create = doc["paths"]["/api/v1/items"]["post"]
    assert "requestBody" in create and "422" in create["responses"]
    assert "Problem" in json.dumps(doc["components"]["schemas"])
    got = doc["paths"]["/api/v1/items/{item_id}"]["get"]["responses"]["200"]
    assert got["content"]["application/json"]["schema"]["$ref"].endswith("/ItemDetailOut")
    channel_schema = doc["components"]["schemas"]["ChannelOut"]["properties"]
    assert "has_secrets" in channel_schema and "secrets" not in channel_schema
