"""One text policy at the edge, and writers that survive rows stored before it.

A title with NUL, BEL or ESC used to be stored and published, after which the OPD's and the
Pemda's feeds and the XLSX register answered 500; a lone surrogate or a JSON body nested
100,000 deep gave 500; bidi overrides and zero-width characters reached every channel.
"""

from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import feedparser
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from publisher.models import Item
from publisher.register import build, to_csv, to_xlsx
from publisher.register_pdf import register_pdf
from publisher.timeutil import utcnow

from .conftest import assert_problem, item_body

HOSTILE = "Jadwal\x07 posyandu\x1b[31m \u202eDESREVER\u202c\u200b desa"


def published(api, world, make, **fields):  # type: ignore[no-untyped-def]
    status, item, _ = api.post("/items", world.editor_a,
                               item_body(world.a, [world.site_a.id], **fields))
    assert status == 201, item
    api.post(f"/items/{item['id']}/submit", world.editor_a)
    status, item, _ = api.post(f"/items/{item['id']}/approve", world.approver_a)
    assert status == 200, item
    make.dispatcher().drain()
    return item


def test_control_bidi_and_zero_width_characters_leave_a_title(api, world, make) -> None:  # type: ignore[no-untyped-def]
    item = published(api, world, make, title=HOSTILE)
    assert item["title"] == "Jadwal posyandu [31m DESREVER desa"
    assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in item["title"])


def test_titles_are_stored_in_nfc(api, world) -> None:  # type: ignore[no-untyped-def]
    decomposed = unicodedata.normalize("NFD", "Pengumuman Café Desa Ñangka")
    status, item, _ = api.post("/items", world.editor_a,
                               item_body(world.a, [world.site_a.id], title=decomposed))
    assert status == 201
    assert item["title"] == unicodedata.normalize("NFC", decomposed) != decomposed


def test_a_control_character_in_a_body_is_refused_by_name(api, world) -> None:  # type: ignore[no-untyped-def]
    status, body, _ = api.post("/items", world.editor_a, item_body(
        world.a, [world.site_a.id], body_html="<p>Posyandu\x07 dibuka</p>"))
    assert status == 422
    assert_problem(body, 422, "body_html")
    assert "U+0007" in body["detail"]


@pytest.mark.parametrize("field", ["title", "summary", "body_html", "official_unit"])
def test_a_lone_surrogate_is_refused_not_a_500(api, world, field: str) -> None:  # type: ignore[no-untyped-def]
    status, body, _ = api.post("/items", world.editor_a, item_body(
        world.a, [world.site_a.id], **{field: "Jadwal \ud800 posyandu"}))
    assert status == 422, body
    assert_problem(body, 422, field)
    assert "surrogate" in body["detail"]


def test_a_lone_surrogate_in_any_field_is_refused(api, world) -> None:  # type: ignore[no-untyped-def]
    status, body, _ = api.post("/channels", world.admin, {
        "opd": world.a.slug, "kind": "webhook", "name": "CMS \udc80",
        "config": {"url": "http://127.0.0.1:9/hook"}})
    assert status == 422 and body["errors"][0]["field"] == "name"


def test_json_nested_too_deep_is_a_400_naming_the_limit(api, world, client) -> None:  # type: ignore[no-untyped-def]
    deep = b"[" * 100_000 + b"]" * 100_000
    response = client.post("/api/v1/items", data=deep, content_type="application/json",
                           headers=world.editor_a.auth)
    assert response.status_code == 400
    body = response.get_json()
    assert_problem(body, 400)
    assert "paling banyak 32" in body["detail"]


def _stored_before_the_policy(runtime, item_id: int) -> None:  # type: ignore[no-untyped-def]
    """A row as an older release (or a direct edit) left it: control characters included."""
    title = "Jadwal\x07 posyandu\x1b desa" + ("\x00" if runtime.db.dialect == "sqlite" else "")
    with runtime.db.write() as s:
        s.execute(update(Item).where(Item.id == item_id).values(
            title=title, summary="Ringkasan\x0b\x0c", official_unit="Bidang\x1f IKP"))


def test_feeds_and_exports_survive_rows_stored_before_the_policy(
    api, world, make, runtime, client, tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    item = published(api, world, make, title="Jadwal posyandu desa")
    _stored_before_the_policy(runtime, item["id"])

    for path in (f"/o/{world.a.slug}/feed.rss", f"/o/{world.a.slug}/feed.atom", "/feed.rss",
                 "/feed.atom"):
        response = client.get(path)
        assert response.status_code == 200, path
        ET.fromstring(response.data)  # well-formed XML
        parsed = feedparser.parse(response.data)
        assert not parsed.bozo, (path, parsed.bozo_exception)
        assert parsed.entries[0].title == "Jadwal posyandu desa"

    response = client.get(f"/api/v1/register?opd={world.a.slug}&format=xlsx",
                          headers=world.editor_a.auth)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [c.value for c in sheet[3]][1] == "Jadwal posyandu desa"
    response = client.get(f"/api/v1/register?opd={world.a.slug}&format=csv",
                          headers=world.editor_a.auth)
    assert response.status_code == 200
    assert "Jadwal posyandu desa" in response.data.decode("utf-8-sig")

    year = utcnow().year
    with runtime.db.read() as s:
        opd = s.scalars(select(type(world.a)).where(type(world.a).id == world.a.id)).one()
        register = build(s, runtime.settings, year, 1 if utcnow().month <= 6 else 2, opd=opd)
    assert len(register.rows) == 1
    assert b"\x07" not in to_csv(register) and to_xlsx(register)[:2] == b"PK"
    pdf = register_pdf(register, datetime(2026, 12, 5, tzinfo=utcnow().tzinfo))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Jadwal posyandu desa" in text and "Bidang IKP" in text
    assert not any(c in text for c in "\x00\x07\x0b\x0c\x1b\x1f")


def test_cli_export_survives_rows_stored_before_the_policy(
    api, world, make, runtime, tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    from publisher.register import export

    item = published(api, world, make, title="Jadwal posyandu desa")
    _stored_before_the_policy(runtime, item["id"])
    year = utcnow().year
    semester = 1 if utcnow().month <= 6 else 2
    for fmt in ("xlsx", "csv", "json"):
        out = tmp_path / f"dip.{fmt}"
        assert export(runtime, world.a.slug, year, semester, fmt, out) == 1
        assert out.stat().st_size > 0
    assert load_workbook(tmp_path / "dip.xlsx").active["B3"].value == "Jadwal posyandu desa"
