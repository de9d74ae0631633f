"""Masuk, keluar, rate limiting, CSRF, language choice and password change."""

from __future__ import annotations

from publisher.models import User

from ..factories import PASSWORD


def test_pages_need_sign_in(ui, make):
    response = ui.get("/admin/antrean")
    assert response.status_code == 302
    assert "/admin/masuk" in response.headers["Location"]


def test_sign_in_and_out(ui, make):
    opd = make.opd()
    make.person("editor", opd, username="operator")
    assert ui.login("operator").status_code == 302
    page = ui.text("/admin/")
    assert "Beranda" in page and "Operator" in page
    assert ui.post("/admin/keluar").status_code == 302
    assert ui.get("/admin/").status_code == 302


def test_wrong_password_then_rate_limited(ui, make):
    opd = make.opd()
    make.person("editor", opd, username="operator")
    for _ in range(5):
        response = ui.login("operator", "salah-sekali-123")
        assert response.status_code == 401
        assert "Nama pengguna atau kata sandi salah" in response.get_data(as_text=True)
    blocked = ui.login("operator", PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert "Terlalu banyak percobaan masuk" in blocked.get_data(as_text=True)
    assert ui.get("/admin/").status_code == 302


def test_post_without_csrf_token_is_refused_but_api_is_exempt(ui, make):
    opd = make.opd()
    make.person("editor", opd, username="operator")
    ui.login("operator")
    refused = ui.client.post("/admin/keluar", data={})
    assert refused.status_code == 400
    # the JSON API authenticates with bearer tokens: no CSRF check, its own 401
    api = ui.client.post("/api/v1/items", json={"title": "x"})
    assert api.status_code == 401


def test_language_switch_is_stored_on_the_user(ui, make, runtime):
    opd = make.opd()
    person = make.person("editor", opd, username="operator")
    ui.login("operator")
    assert "Antrean publikasi" in ui.text("/admin/antrean")
    ui.post("/admin/bahasa", {"locale": "en", "next": "/admin/antrean"})
    page = ui.text("/admin/antrean")
    assert "Publication queue" in page and 'lang="en"' in page
    with runtime.db.read() as s:
        assert s.get_one(User, person.user_id).locale == "en"


def test_change_password_signs_out_other_sessions(ui, ui2, make):
    opd = make.opd()
    make.person("editor", opd, username="operator")
    ui.login("operator")
    ui2.login("operator")
    bad = ui.post("/admin/akun", {"current_password": "salah", "new_password": "x" * 12,
                                  "confirm_password": "x" * 12})
    assert bad.status_code == 422 and "Kata sandi sekarang salah" in bad.get_data(as_text=True)
    ok = ui.post("/admin/akun", {"current_password": PASSWORD, "new_password": "baru-sekali-456",
                                 "confirm_password": "baru-sekali-456"})
    assert ok.status_code == 302
    assert ui.get("/admin/").status_code == 200  # this session stays signed in
    assert ui2.get("/admin/").status_code == 302  # the other one is signed out
    ui2.login("operator", "baru-sekali-456")
    assert ui2.get("/admin/").status_code == 200
