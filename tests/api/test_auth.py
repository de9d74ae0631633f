"""Bearer tokens: unknown, revoked, expired and inactive users refused; last use recorded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from publisher.models import ApiToken, User
from publisher.timeutil import utcnow

from .conftest import assert_problem


def _last_used(runtime, person):  # type: ignore[no-untyped-def]
    with runtime.db.read() as s:
        return s.scalars(select(ApiToken.last_used_at)
                         .where(ApiToken.user_id == person.user_id)).one()


def test_missing_and_unknown_tokens(api, world) -> None:  # type: ignore[no-untyped-def]
    status, problem, resp = api.get("/items")
    assert status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(problem, 401)
    status, problem, _ = api.get("/items", headers={"Authorization": "Bearer opdp_" + "A" * 43})
    assert status == 401 and "tidak dikenal" in problem["detail"]


def test_revoked_expired_and_inactive(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/users/me", world.editor_a)[0] == 200
    with runtime.db.write() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == world.editor_a.user_id)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    status, problem, _ = api.get("/users/me", world.editor_a)
    assert status == 401 and "kedaluwarsa" in problem["detail"]
    with runtime.db.write() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == world.editor_a.user_id)
                  .values(expires_at=None, revoked_at=utcnow()))
    status, problem, _ = api.get("/users/me", world.editor_a)
    assert status == 401 and "dicabut" in problem["detail"]
    with runtime.db.write() as s:
        s.execute(update(User).where(User.id == world.editor_b.user_id).values(is_active=False))
    status, problem, _ = api.get("/users/me", world.editor_b)
    assert status == 401 and "tidak aktif" in problem["detail"]


def test_last_used_is_written_at_most_once_a_minute(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    assert _last_used(runtime, world.editor_a) is None
    api.get("/users/me", world.editor_a)
    first = _last_used(runtime, world.editor_a)
    assert first is not None
    api.get("/users/me", world.editor_a)
    assert _last_used(runtime, world.editor_a) == first
    with runtime.db.write() as s:
        s.execute(update(ApiToken).where(ApiToken.user_id == world.editor_a.user_id)
                  .values(last_used_at=utcnow() - timedelta(minutes=2)))
    api.get("/users/me", world.editor_a)
    assert _last_used(runtime, world.editor_a) > first


def test_me_describes_the_user(api, world) -> None:  # type: ignore[no-untyped-def]
    status, me, _ = api.get("/users/me", world.editor_a)
    assert status == 200
    assert me["username"] == world.editor_a.username
    assert me["roles"] == [{"role": "editor", "opd_id": world.a.id}]
    assert [o["slug"] for o in me["opds"]] == ["kominfo"]
    assert "password_hash" not in me


def test_auditor_is_read_only(api, world) -> None:  # type: ignore[no-untyped-def]
    assert api.get("/items", world.auditor)[0] == 200
    status, problem, _ = api.post("/items", world.auditor, {"opd": "kominfo", "title": "x"})
    assert status == 403
    assert_problem(problem, 403)
