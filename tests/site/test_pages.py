"""The public OPD site: portal, OPD pages and item pages show exactly the published items."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler

import pytest

from publisher.site import queries
from publisher.site.common import local_time

from ..loopback_http import LoopbackServer, send
from .conftest import World


def test_opd_and_item_pages_in_wita_and_wit(client, world: World) -> None:  # type: ignore[no-untyped-def]
    wita = world.publish(world.kominfo, title="Jadwal Pelayanan Kominfo",
                         summary="Jadwal layanan informasi.", official_unit="Bidang IKP",
                         responsible="PPID Pelaksana Dinas Kominfo", made_at="2026-03-04",
                         made_place="Sei Rampah", info_formats=["cetak", "online"],
                         retention="5 tahun", category="setiap_saat")
    wit = world.publish(world.kecamatan, title="Pengumuman Banjir", category="serta_merta")

    page = client.get("/o/dinas-kominfo/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Jadwal Pelayanan Kominfo" in html
    assert "Setiap Saat" in html
    when = world.published_at(wita.id)
    assert local_time(when, "Asia/Makassar") in html
    assert "WITA" in html and "Pengumuman Banjir" not in html

    item = client.get(f"/o/dinas-kominfo/i/{wita.id}/jadwal-pelayanan-kominfo")
    assert item.status_code == 200
    html = item.get_data(as_text=True)
    assert local_time(when, "Asia/Makassar") in html
    assert re.search(r"\d{2}:\d{2} WITA", html)
    for text in ("Bidang IKP", "PPID Pelaksana Dinas Kominfo", "4 Maret 2026, Sei Rampah",
                 "Cetak, Online", "5 tahun", "Jadwal layanan informasi."):
        assert text in html
    assert "<p>Isi informasi publik.</p>" in html  # the (clean) body is rendered as HTML
    assert item.headers["Content-Security-Policy"].startswith("default-src 'self'")

    html = client.get(f"/o/kecamatan-sei-rampah/i/{wit.id}/pengumuman-banjir").get_data(
        as_text=True)
    assert local_time(world.published_at(wit.id), "Asia/Jayapura") in html
    assert re.search(r"\d{2}:\d{2} WIT\b", html) and "Serta Merta" in html


def test_wrong_or_missing_slug_redirects_to_the_stable_url(client, world: World) -> None:  # type: ignore[no-untyped-def]
    item = world.publish(world.kominfo, title="Laporan Keuangan 2026")
    canonical = f"/o/dinas-kominfo/i/{item.id}/laporan-keuangan-2026"
    for wrong in (f"/o/dinas-kominfo/i/{item.id}/judul-lama", f"/o/dinas-kominfo/i/{item.id}"):
        response = client.get(wrong)
        assert response.status_code == 301
        assert response.headers["Location"].endswith(canonical)
    assert client.get(canonical).status_code == 200


def test_unpublished_exempt_and_foreign_items_are_404(client, world: World, make) -> None:  # type: ignore[no-untyped-def]
    unit = world.kominfo
    draft = make.item(unit.editor, unit.opd, [unit.site.id], title="Masih Draf")
    later = make.item(unit.editor, unit.opd, [unit.site.id], title="Terbit Nanti",
                      schedule=make.in_a_minute())
    with world.runtime.db.write() as s:
        from publisher.services import items

        items.submit_item(s, unit.editor.principal, world.runtime.settings, later.id)
    with world.runtime.db.write() as s:
        items.approve_item(s, unit.approver.principal, world.runtime.settings, later.id)
    make.dispatcher().drain()  # not due yet: stays scheduled
    exempt = make.item(unit.editor, unit.opd, [], title="Dokumen Rahasia",
                       category="dikecualikan", exemption_article="h",
                       exemption_basis="UU 14/2008 Pasal 17 huruf h",
                       exemption_until="2030-12-31")
    reclassified = world.publish(unit, title="Kemudian Dikecualikan")
    foreign = world.publish(world.kecamatan, title="Milik Kecamatan")
    shown = world.publish(unit, title="Boleh Dilihat")
    url = f"/o/dinas-kominfo/i/{reclassified.id}/kemudian-dikecualikan"
    assert client.get(url).status_code == 200
    world.set_item(reclassified.id, category="dikecualikan", exemption_article="h")

    for item in (draft, later, exempt, reclassified):
        assert client.get(f"/o/dinas-kominfo/i/{item.id}/{item.slug}").status_code == 404
    assert client.get(f"/o/dinas-kominfo/i/{foreign.id}/milik-kecamatan").status_code == 404
    assert client.get("/o/dinas-kominfo/i/999999/tidak-ada").status_code == 404
    missing = client.get("/o/tidak-ada/")
    assert missing.status_code == 404 and "tidak ditemukan" in missing.get_data(as_text=True)

    listing = client.get("/o/dinas-kominfo/").get_data(as_text=True)
    portal = client.get("/").get_data(as_text=True)
    for html in (listing, portal):
        assert "Boleh Dilihat" in html
        for title in ("Masih Draf", "Terbit Nanti", "Dokumen Rahasia", "Kemudian Dikecualikan"):
            assert title not in html
    assert shown.id


def test_hostile_html_is_never_rendered(client, world: World) -> None:  # type: ignore[no-untyped-def]
    item = world.publish(
        world.kominfo, title='<script>alert("judul")</script> Pengumuman',
        summary='<img src=x onerror=alert(1)>',
        body_html='<p>Aman</p><script>alert(1)</script><img src="x" onerror="alert(2)">'
                  '<a href="javascript:alert(3)">klik</a><iframe src="https://evil.test"></iframe>',
    )
    pages = [
        client.get(f"/o/dinas-kominfo/i/{item.id}/{item.slug}"),
        client.get("/o/dinas-kominfo/"),
        client.get("/"),
        client.get("/o/dinas-kominfo/dip"),
        client.get("/dip"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.get_data(as_text=True).lower()
        assert "<script" not in html
        assert "<iframe" not in html
        assert "javascript:" not in html
        assert "<img src=x onerror" not in html
    item_html = pages[0].get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;judul&#34;)&lt;/script&gt; Pengumuman" in item_html
    assert "<p>Aman</p>" in item_html


def test_portal_shows_the_hierarchy_and_latest_items(client, world: World, runtime) -> None:  # type: ignore[no-untyped-def]
    world.publish(world.desa, title="Musyawarah Desa")
    world.publish(world.kominfo, title="Berita Kominfo")
    page = client.get("/").get_data(as_text=True)
    assert "Musyawarah Desa" in page and "Berita Kominfo" in page
    html = page[page.index('id="daftar-opd"'):]
    # Desa Firdaus sits inside Kecamatan Sei Rampah's list, which sits inside the Pemda's.
    kec = html.index('href="/o/kecamatan-sei-rampah/"')
    desa = html.index('href="/o/desa-firdaus/"')
    assert html.index('href="/o/pemkab-uji/"') < kec < desa
    assert "<ul>" in html[kec:desa]
    with runtime.db.read() as s:
        tree = queries.opd_tree(s)
    assert [n.slug for n in tree] == ["pemkab-uji"]
    children = {n.slug: n for n in tree[0].children}
    assert set(children) == {"dinas-kominfo", "kecamatan-sei-rampah"}
    assert [n.slug for n in children["kecamatan-sei-rampah"].children] == ["desa-firdaus"]
    assert children["dinas-kominfo"].count == 1


def test_opd_page_is_paged_newest_first(client, world: World, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("publisher.site.pages.PER_PAGE", 2)
    for title in ("Pertama", "Kedua", "Ketiga"):
        world.publish(world.kominfo, title=f"Informasi {title}")
    first = client.get("/o/dinas-kominfo/").get_data(as_text=True)
    assert first.index("Informasi Ketiga") < first.index("Informasi Kedua")
    assert "Informasi Pertama" not in first and "Halaman 1 dari 2" in first
    second = client.get("/o/dinas-kominfo/?page=2").get_data(as_text=True)
    assert "Informasi Pertama" in second and "Informasi Ketiga" not in second
    assert client.get("/o/dinas-kominfo/?page=3").status_code == 404
    bad = client.get("/o/dinas-kominfo/?page=abc")
    assert bad.status_code == 400 and "page" in bad.get_data(as_text=True)


@pytest.fixture()
def cms() -> LoopbackServer:  # type: ignore[misc]
    """A receiving CMS on loopback that answers with the post's public URL."""

    def receive(h: BaseHTTPRequestHandler) -> None:
        send(h, 200, json.dumps({"id": "cms-7", "url": "https://opd.example.go.id/berita/7"})
             .encode(), "application/json")

    with LoopbackServer() as server:
        server.route("/hook", receive)
        yield server


def test_item_page_links_to_other_channels(client, world: World, make, cms) -> None:  # type: ignore[no-untyped-def]
    hook = make.channel(world.kominfo.opd, "webhook", "Situs CMS Kominfo",
                        config={"url": cms.url("/hook")})
    world.kominfo.extra_channels.append(hook.id)
    item = world.publish(world.kominfo, title="Rilis Pers")
    html = client.get(f"/o/dinas-kominfo/i/{item.id}/rilis-pers").get_data(as_text=True)
    assert 'href="https://opd.example.go.id/berita/7"' in html
    assert "Situs CMS Kominfo" in html
    assert local_time(world.published_at(item.id, "webhook"), "Asia/Makassar") in html
