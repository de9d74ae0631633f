"""Idempotency-Key on POST: replay, refuse a different request, 409 while in progress."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from publisher.models import IdempotencyRecord, Item
from publisher.timeutil import utcnow

from .conftest import assert_problem, item_body


def _count_items(runtime) -> int:  # type: ignore[no-untyped-def]
    with runtime.db.read() as s:
        return s.scalar(select(func.count()).select_from(Item)) or 0


def test_same_key_same_request_replays_the_first_answer(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    body = item_body(world.a, [world.site_a.id])
    key = {"Idempotency-Key": "buat-posyandu-1"}
    status, first, resp1 = api.post("/items", world.editor_a, body, headers=key)
    assert status == 201 and "Idempotent-Replayed" not in resp1.headers
    status, second, resp2 = api.post("/items", world.editor_a, body, headers=key)
    assert status == 201
    assert resp2.headers["Idempotent-Replayed"] == "true"
    assert second == first
    assert resp2.headers["Location"] == resp1.headers["Location"]
    assert _count_items(runtime) == 1


def test_same_key_different_body_is_refused(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": "kunci-a"}
    api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]), headers=key)
    status, problem, _ = api.post("/items", world.editor_a,
                                  item_body(world.a, [world.site_a.id], title="Lain"),
                                  headers=key)
    assert status == 422
    assert_problem(problem, 422, "Idempotency-Key")
    # Same key on another path is another request too.
    status, problem, _ = api.post(f"/items/{1}/submit", world.editor_a, headers=key)
    assert status == 422
    assert _count_items(runtime) == 1


def test_keys_are_per_user(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": "sama"}
    body = item_body(world.a, [world.site_a.id])
    assert api.post("/items", world.editor_a, body, headers=key)[0] == 201
    status, _, resp = api.post("/items", world.approver_a, body, headers=key)
    assert status == 201 and "Idempotent-Replayed" not in resp.headers
    assert _count_items(runtime) == 2


def test_request_in_progress_answers_409(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    body = item_body(world.a, [world.site_a.id])
    key = {"Idempotency-Key": "sedang-jalan"}
    api.post("/items", world.editor_a, body, headers=key)
    # Make the stored record look like a request that is still running.
    with runtime.db.write() as s:
        s.execute(update(IdempotencyRecord).values(status_code=None, response_body=None))
    status, problem, resp = api.post("/items", world.editor_a, body, headers=key)
    assert status == 409
    assert_problem(problem, 409)
    assert resp.headers["Retry-After"] == "1"
    assert _count_items(runtime) == 1


def test_errors_are_replayed_but_server_errors_are_not_kept(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    key = {"Idempotency-Key": "salah"}
    bad = item_body("tidak-ada")
    status, first, _ = api.post("/items", world.editor_a, bad, headers=key)
    assert status == 422
    status, second, resp = api.post("/items", world.editor_a, bad, headers=key)
    assert status == 422 and second == first and resp.headers["Idempotent-Replayed"] == "true"


def test_stored_responses_expire_after_a_day(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    body = item_body(world.a, [world.site_a.id])
    key = {"Idempotency-Key": "kemarin"}
    api.post("/items", world.editor_a, body, headers=key)
    with runtime.db.write() as s:
        s.execute(update(IdempotencyRecord).values(created_at=utcnow() - timedelta(hours=25)))
    status, _, resp = api.post("/items", world.editor_a, body, headers=key)
    assert status == 201 and "Idempotent-Replayed" not in resp.headers
    assert _count_items(runtime) == 2
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1


def test_bad_key_and_get_ignores_key(api, world) -> None:  # type: ignore[no-untyped-def]
    status, problem, _ = api.post("/items", world.editor_a, item_body(world.a),
                                  headers={"Idempotency-Key": "x" * 300})
    assert status == 400
    assert_problem(problem, 400, "Idempotency-Key")
    status, _, resp = api.get("/items", world.editor_a, headers={"Idempotency-Key": "g"})
    assert status == 200 and "Idempotent-Replayed" not in resp.headers


def test_multipart_retry_with_new_boundary_is_the_same_request(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    from .test_media import png_bytes

    def upload(boundary: str):  # type: ignore[no-untyped-def]
        from io import BytesIO

        return api.client.post(
            "/api/v1/media", headers={**world.editor_a.auth, "Idempotency-Key": "unggah-1"},
            data={"alt_text": "Peta desa", "opd": "kominfo",
                  "file": (BytesIO(png_bytes()), "peta.png")},
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    first = upload("batas-pertama")
    assert first.status_code == 201, first.data
    again = upload("batas-kedua")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
