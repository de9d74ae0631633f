"""Server-side sessions of the admin UI: signing out ends the session on the server, a password
change ends the other sessions (and can revoke API tokens), a removed role, a deactivated user
or an admin ends all of them, and sign-in does the same work for an unknown username."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from publisher.models import AuditEvent, Membership, Role, User, UserSession
from publisher.security import dummy_password_hash
from publisher.timeutil import utcnow
from publisher.ui import auth
from publisher.ui.auth import limiter

from .factories import PASSWORD, Factory, Person
from .ui.conftest import UiClient

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Mobile Safari/537.36")
NEW_PASSWORD = "baru-sekali-456"


def _browser(app: Any, user_agent: str = FIREFOX) -> UiClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return UiClient(client)


@pytest.fixture()
def world(app: Any, make: Factory) -> dict[str, Any]:
    limiter._failures.clear()
    opd = make.opd()
    return {"operator": make.person(Role.EDITOR, opd, username="operator"),
            "admin": make.person(Role.ADMIN, username="kominfo"), "opd": opd}


def _signed_in(app: Any, username: str, user_agent: str = FIREFOX) -> UiClient:
    browser = _browser(app, user_agent)
    assert browser.login(username).status_code == 302
    assert browser.get("/admin/").status_code == 200
    return browser


def _is_out(browser: UiClient) -> bool:
    response = browser.get("/admin/")
    return response.status_code == 302 and "/admin/masuk" in response.headers["Location"]


def _rows(runtime: Any, user_id: int) -> list[UserSession]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(UserSession).where(UserSession.user_id == user_id)
                              .order_by(UserSession.id)))
        s.expunge_all()  # still readable after the read session ends
        return rows


def _events(runtime: Any, action: str) -> list[dict[str, Any]]:
    with runtime.db.read() as s:
        return [e.detail for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))]


def _login_id(browser: UiClient) -> str:
    with browser.client.session_transaction() as sess:
        return str(sess["_user_id"])


def test_sign_in_stores_only_the_hash_of_the_session_id(app, runtime, world):
    browser = _signed_in(app, "operator")
    token = _login_id(browser).split(":", 2)[2]
    [row] = _rows(runtime, world["operator"].user_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, row.user_agent, row.ip_address}
    assert row.user_agent == FIREFOX and row.ip_address == "127.0.0.1"
    assert row.revoked_at is None and row.created_at <= row.last_seen_at


def test_a_cookie_copied_before_logout_does_not_work_after_it(app, runtime, world):
    browser = _signed_in(app, "operator")
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    copied = browser.client.get_cookie(cookie_name).value
    thief = app.test_client()
    thief.set_cookie(cookie_name, copied)
    assert thief.get("/admin/").status_code == 200  # the copy works while signed in
    assert browser.post("/admin/keluar").status_code == 302
    replay = thief.get("/admin/")
    assert replay.status_code == 302 and "/admin/masuk" in replay.headers["Location"]
    [row] = _rows(runtime, world["operator"].user_id)
    assert row.revoked_at is not None


def test_password_change_ends_other_sessions_and_keeps_this_one(app, runtime, world):
    here = _signed_in(app, "operator")
    there = _signed_in(app, "operator", PHONE)
    response = here.post("/admin/akun", {"current_password": PASSWORD,
                                         "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302
    assert "1 sesi lain diakhiri" in here.text("/admin/akun")  # still signed in
    assert _is_out(there)
    [ended] = _events(runtime, "user.sessions_ended")
    assert ended["count"] == 1 and ended["reason"] == "password_changed"
    assert ended["kept_current"] is True
    assert _events(runtime, "user.password_changed")
    # the API token was not asked to go: it still works
    assert here.client.get("/api/v1/items", headers=world["operator"].auth).status_code == 200


def test_password_change_can_revoke_api_tokens(app, runtime, world):
    operator: Person = world["operator"]
    here = _signed_in(app, "operator")
    assert here.client.get("/api/v1/items", headers=operator.auth).status_code == 200
    here.post("/admin/akun", {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                              "confirm_password": NEW_PASSWORD, "revoke_tokens": "1"})
    assert here.client.get("/api/v1/items", headers=operator.auth).status_code == 401
    [revoked] = _events(runtime, "token.revoked")
    assert revoked["count"] == 1 and revoked["user_id"] == operator.user_id
    assert operator.token not in json.dumps(revoked)


def test_deactivating_a_user_ends_their_sessions_for_good(app, runtime, world):
    operator = _signed_in(app, "operator")
    admin = _signed_in(app, "kominfo")
    user_id = world["operator"].user_id
    admin.post(f"/admin/pengguna/{user_id}/status")
    assert _is_out(operator)
    admin.post(f"/admin/pengguna/{user_id}/status")  # active again: the old cookie stays dead
    assert _is_out(operator)
    assert all(r.revoked_at is not None for r in _rows(runtime, user_id))
    [ended] = _events(runtime, "user.sessions_ended")
    assert ended == {**ended, "user_id": user_id, "count": 1, "reason": "deactivated"}


def test_removing_a_role_ends_all_sessions_of_the_user(app, runtime, world):
    operator = _signed_in(app, "operator")
    admin = _signed_in(app, "kominfo")
    user_id = world["operator"].user_id
    with runtime.db.read() as s:
        membership = s.scalars(select(Membership.id).where(Membership.user_id == user_id)).one()
    admin.post(f"/admin/pengguna/{user_id}/peran/{membership}/hapus")
    assert _is_out(operator)
    with runtime.db.read() as s:
        assert s.get_one(User, user_id).memberships == []
    [removed] = _events(runtime, "user.role_removed")
    assert removed["role"] == Role.EDITOR
    assert _events(runtime, "user.sessions_ended")[0]["reason"] == "role_removed"


def test_admins_cannot_remove_their_own_admin_role(app, runtime, world):
    admin = _signed_in(app, "kominfo")
    user_id = world["admin"].user_id
    with runtime.db.read() as s:
        membership = s.scalars(select(Membership.id).where(Membership.user_id == user_id)).one()
    admin.post(f"/admin/pengguna/{user_id}/peran/{membership}/hapus")
    assert "tidak dapat mencabut peran admin Anda sendiri" in admin.text("/admin/pengguna")
    assert not _events(runtime, "user.role_removed")


def test_an_admin_ends_all_sessions_of_a_user(app, runtime, world):
    laptop = _signed_in(app, "operator")
    phone = _signed_in(app, "operator", PHONE)
    admin = _signed_in(app, "kominfo")
    user_id = world["operator"].user_id
    assert admin.post(f"/admin/pengguna/{user_id}/sesi/akhiri").status_code == 302
    assert _is_out(laptop) and _is_out(phone)
    assert admin.get("/admin/").status_code == 200
    [ended] = _events(runtime, "user.sessions_ended")
    assert ended["count"] == 2 and ended["reason"] == "ended_by_admin"
    # only admins may
    again = _signed_in(app, "operator")
    assert again.post(f"/admin/pengguna/{world['admin'].user_id}/sesi/akhiri").status_code == 403
    assert not _is_out(admin)


def test_account_page_lists_sessions_and_ends_another_one(app, runtime, world):
    laptop = _signed_in(app, "operator")
    phone = _signed_in(app, "operator", PHONE)
    page = laptop.text("/admin/akun")
    assert "Firefox · Linux" in page and "Chrome · Android" in page and "sesi ini" in page
    mine, other = _rows(runtime, world["operator"].user_id)
    assert f"/admin/akun/sesi/{other.id}/akhiri" in page
    assert f"/admin/akun/sesi/{mine.id}/akhiri" not in page  # this one ends with Keluar
    assert laptop.client.post(f"/admin/akun/sesi/{other.id}/akhiri").status_code == 400  # CSRF
    assert not _is_out(phone)
    laptop.post(f"/admin/akun/sesi/{other.id}/akhiri")
    assert _is_out(phone) and not _is_out(laptop)
    assert "Chrome · Android" not in laptop.text("/admin/akun")
    laptop.post(f"/admin/akun/sesi/{mine.id}/akhiri")  # refused: not from this form
    assert not _is_out(laptop)
    laptop.post("/admin/bahasa", {"locale": "en"})
    assert "Active sessions" in laptop.text("/admin/akun")


def test_nobody_ends_another_users_session_from_the_account_page(app, runtime, world):
    operator = _signed_in(app, "operator")
    admin = _signed_in(app, "kominfo")
    [theirs] = _rows(runtime, world["operator"].user_id)
    admin.post(f"/admin/akun/sesi/{theirs.id}/akhiri")
    assert not _is_out(operator)
    assert "sesi tidak ditemukan" in admin.text("/admin/akun")


def test_last_seen_is_written_again_after_a_minute(app, runtime, world):
    browser = _signed_in(app, "operator")
    [row] = _rows(runtime, world["operator"].user_id)
    earlier = utcnow() - timedelta(minutes=5)
    with runtime.db.write() as s:
        s.execute(update(UserSession).where(UserSession.id == row.id)
                  .values(last_seen_at=earlier))
    browser.get("/admin/")
    [seen] = _rows(runtime, world["operator"].user_id)
    assert seen.last_seen_at > earlier + timedelta(minutes=4)


def test_a_revoked_row_or_a_forged_id_signs_nobody_in(app, runtime, world):
    browser = _signed_in(app, "operator")
    user_id, stamp, _token = _login_id(browser).split(":", 2)
    for forged in (f"{user_id}:{stamp}:not-a-session", f"{user_id}:{stamp}", user_id,
                   f"{world['admin'].user_id}:{stamp}:{_token}"):
        with browser.client.session_transaction() as sess:
            sess["_user_id"] = forged
        assert _is_out(browser), forged


@pytest.fixture()
def hasher_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash the sign-in view checks against (the real check still runs)."""
    calls: list[str] = []
    real = auth.verify_password

    def counting(password_hash: str, password: str) -> bool:
        calls.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(auth, "verify_password", counting)
    return calls


def test_sign_in_does_the_same_work_for_unknown_and_inactive_users(
        app, runtime, world, hasher_calls):
    with runtime.db.write() as s:
        s.get_one(User, world["admin"].user_id).is_active = False
        real_hash = s.get_one(User, world["operator"].user_id).password_hash
    for username, password, expected in [
        ("operator", "salah-sekali-123", real_hash),  # known user, wrong password
        ("tidak-ada", PASSWORD, dummy_password_hash()),  # no such user
        ("kominfo", PASSWORD, dummy_password_hash()),  # inactive, right password
    ]:
        hasher_calls.clear()
        assert _browser(app).login(username, password).status_code == 401, username
        assert hasher_calls == [expected], username
    assert dummy_password_hash().split("$")[0] == real_hash.split("$")[0]  # same hasher
    hasher_calls.clear()
    assert _browser(app).login("operator").status_code == 302
    assert hasher_calls == [real_hash]
