"""Idempotency-Key on POST: replay, refuse a different request, 409 while in progress."""

from __future__ import annotations

import json
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


def test_server_error_is_not_kept_so_the_retry_runs(api, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from publisher.api import items as items_api

    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    real = items_api.service.submit_item

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away: secret-internal-detail")

    monkeypatch.setattr(items_api.service, "submit_item", broken)
    key = {"Idempotency-Key": "kirim-1"}
    status, problem, _ = api.post(f"/items/{item['id']}/submit", world.editor_a, headers=key)
    assert status == 500
    assert_problem(problem, 500)
    assert "secret-internal-detail" not in json.dumps(problem)
    monkeypatch.setattr(items_api.service, "submit_item", real)
    status, body, resp = api.post(f"/items/{item['id']}/submit", world.editor_a, headers=key)
    assert status == 200 and body["status"] == "submitted"
    assert "Idempotent-Replayed" not in resp.headers


def test_concurrent_retry_while_the_first_request_runs(api, world, runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A real second request while the first is inside its view: PostgreSQL answers 409 at
    once; SQLite's single writer makes it wait, then answers 409 or replays the first answer.
    Either way the item is created once."""
    import threading

    from publisher.api import items as items_api

    release = threading.Event()
    entered = threading.Event()
    real = items_api.service.create_item

    def slow(*args, **kwargs):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(items_api.service, "create_item", slow)
    body = item_body(world.a, [world.site_a.id])
    key = {"Idempotency-Key": "bersamaan"}
    results: dict[str, tuple[int, object, object]] = {}

    def call(name: str) -> None:
        results[name] = api.post("/items", world.editor_a, body, headers=key)

    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=call, args=("second",))
    second.start()
    second.join(timeout=2 if runtime.db.dialect == "postgresql" else 0.5)
    if runtime.db.dialect == "postgresql":
        assert not second.is_alive()
        status, problem, _ = results["second"]
        assert status == 409
        assert_problem(problem, 409)
    release.set()
    first.join(10)
    second.join(10)
    assert results["first"][0] == 201
    if runtime.db.dialect == "sqlite":
        # It got the lock either before the first stored its answer (still in progress:
        # 409) or after (a replay); never a second item.
        status, body2, resp = results["second"]
        if status == 201:
            assert resp.headers["Idempotent-Replayed"] == "true"
            assert body2 == results["first"][1]
        else:
            assert status == 409
    assert _count_items(runtime) == 1
