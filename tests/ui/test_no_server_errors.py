"""Admin forms and pages, and the public site, with input that once answered 500: ids beyond
64 bits, choices that are not numbers, numbers too large for their column."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from publisher.models import Channel, FeedSource, Item

BIG = 2**63  # one past the largest BIGINT
HUGE = str(10**30)

#: (name, path, expected status) of admin pages reached with out-of-range ids.
PAGES: list[tuple[str, str, int]] = [
    ("item_page", f"/admin/informasi/{BIG}", 404),
    ("item_edit_page", f"/admin/informasi/{BIG}/ubah", 404),
    ("channel_page", f"/admin/saluran/{BIG}", 404),
    ("feed_page", f"/admin/sumber-feed/{BIG}", 404),
    ("queue_opd_filter", f"/admin/antrean?opd={BIG}&channel={HUGE}", 200),
    ("audit_filters", f"/admin/audit?opd={BIG}&item={HUGE}&page={HUGE}", 200),
    ("calendar_filters", f"/admin/kalender?opd={HUGE}&channel={BIG}", 200),
    ("dashboard_opd", f"/admin/?opd={BIG}", 200),
    ("register_opd", f"/admin/register?opd={HUGE}&page={HUGE}", 200),
    ("compose_opd", f"/admin/tulis?opd={HUGE}", 200),
    ("users_page", f"/admin/pengguna?page={HUGE}", 200),
]


@pytest.fixture()
def signed_in(ui: Any, make: Any) -> Any:
    """An admin, signed in, with one OPD and its site channel."""
    opd = make.opd("Dinas Kominfo", slug="kominfo")
    site = make.channel(opd, "site", "Situs")
    admin = make.admin()
    ui.login(admin.username)
    ui.opd, ui.site = opd, site
    return ui


def _count(runtime: Any, model: Any) -> int:
    with runtime.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("name", "path", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_admin_page(signed_in: Any, name: str, path: str, status: int) -> None:
    assert signed_in.get(path).status_code == status


@pytest.mark.parametrize(("name", "opd", "channels"), [
    ("opd_not_a_number", "kominfo", None),
    ("opd_out_of_range", HUGE, None),
    ("channel_ids_out_of_range", None, [HUGE]),
    ("channel_ids_not_digits", None, ["²"]),
], ids=["opd_not_a_number", "opd_out_of_range", "channel_ids_out_of_range",
        "channel_ids_not_digits"])
def test_compose_form_error(signed_in: Any, runtime: Any, name: str, opd: str | None,
                            channels: list[str] | None) -> None:
    """The compose form comes back (422) with the message; nothing is stored."""
    response = signed_in.post("/admin/tulis", {
        "opd": opd or str(signed_in.opd.id), "title": "Jadwal Posyandu",
        "body": "isi", "category": "berkala", "schedule_mode": "now",
        "channel_ids": channels or [str(signed_in.site.id)]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Jadwal Posyandu" in page  # the form, with what was typed
    assert ("(opd)" if opd else "(channel_ids)") in page
    assert _count(runtime, Item) == 0


def test_compose_preview_with_odd_ids(signed_in: Any) -> None:
    response = signed_in.post("/admin/tulis/pratinjau", {
        "item_id": "²", "opd": HUGE, "channel_ids": [HUGE], "title": "x"})
    assert response.status_code == 200


@pytest.mark.parametrize(("name", "fields"), [
    ("opd_not_a_number", {"opd": "kominfo"}),
    ("min_interval_too_large", {"min_interval_seconds": HUGE}),
    ("slot_day_not_ascii", {"slot_days": ["²"], "slot_times": "08:00"}),
    ("secret_not_latin1", {"kind": "webhook", "cfg_url": "http://127.0.0.1:9/hook",
                           "cfg_signing_secret": "whsec_\u20ac\u4e2d"}),
], ids=["opd_not_a_number", "min_interval_too_large", "slot_day_not_ascii",
        "secret_not_latin1"])
def test_channel_form_error(signed_in: Any, runtime: Any, name: str,
                            fields: dict[str, Any]) -> None:
    """The channel form answers with a message (no 500); no channel is added."""
    before = _count(runtime, Channel)
    data = {"kind": "site", "name": "Situs Kedua", "opd": str(signed_in.opd.id), **fields}
    response = signed_in.post("/admin/saluran", data, follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    if name == "slot_day_not_ascii":  # the day is ignored: a schedule without days
        assert 'class="flash error"' in page or _count(runtime, Channel) == before + 1
    else:
        assert 'class="flash error"' in page
        flashes = re.findall(r'class="flash error"[^>]*>([^<]*)<', page)
        assert name != "secret_not_latin1" or "ASCII" in " ".join(flashes), flashes
        assert _count(runtime, Channel) == before


def test_channel_update_interval_too_large(signed_in: Any, runtime: Any) -> None:
    response = signed_in.post(f"/admin/saluran/{signed_in.site.id}",
                              {"name": "Situs", "min_interval_seconds": HUGE})
    assert response.status_code == 302
    with runtime.db.read() as s:
        assert s.get(Channel, signed_in.site.id).min_interval_seconds == 0


@pytest.mark.parametrize(("name", "fields"), [
    ("opd_not_a_number", {"opd": "kominfo"}),
    ("channel_ids_out_of_range", {"channel_ids": [HUGE]}),
    ("interval_too_large", {"interval_minutes": HUGE}),
], ids=["opd_not_a_number", "channel_ids_out_of_range", "interval_too_large"])
def test_feed_form_error(signed_in: Any, runtime: Any, name: str,
                         fields: dict[str, Any]) -> None:
    data = {"opd": str(signed_in.opd.id), "name": "Berita", "url": "http://127.0.0.1:9/rss",
            "channel_ids": [str(signed_in.site.id)], "category": "setiap_saat",
            "requires_approval": "1", "interval_minutes": "5", **fields}
    response = signed_in.post("/admin/sumber-feed", data)
    assert response.status_code == 422
    assert "Berita" in response.get_data(as_text=True)
    assert _count(runtime, FeedSource) == 0


def test_user_form_opd_out_of_range(signed_in: Any) -> None:
    response = signed_in.post("/admin/pengguna", {
        "username": "baru", "password": "Rahasia-Panjang-123", "role": "editor", "opd": HUGE})
    assert response.status_code == 302


@pytest.mark.parametrize(("name", "path", "status"), [
    ("public_item_out_of_range", f"/o/kominfo/i/{BIG}", 404),
    ("public_item_with_slug_out_of_range", f"/o/kominfo/i/{BIG}/judul", 404),
    ("public_item_zero", "/o/kominfo/i/0", 404),
    ("public_page_out_of_range", f"/o/kominfo/?page={HUGE}", 400),
    ("public_dip_page_out_of_range", f"/o/kominfo/dip?page={BIG}", 400),
], ids=["public_item_out_of_range", "public_item_with_slug_out_of_range", "public_item_zero",
        "public_page_out_of_range", "public_dip_page_out_of_range"])
def test_public_site_without_sign_in(client: Any, make: Any, name: str, path: str,
                                     status: int) -> None:
    make.opd("Dinas Kominfo", slug="kominfo")
    assert client.get(path).status_code == status
