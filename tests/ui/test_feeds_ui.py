"""Sumber feed in the admin UI: add, list with the last poll and error, change, poll now,
delete — with a feed served on loopback and real polls."""

from __future__ import annotations

import html
from datetime import timedelta

from sqlalchemy import select, update

from publisher.feeds import poll_due_feeds
from publisher.models import FeedSource
from publisher.services import feeds as feed_service
from publisher.timeutil import utcnow

from ..loopback_http import LoopbackServer, send

RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Berita</title>'
       b"<link>http://127.0.0.1/</link><description>x</description><item><title>Posyandu"
       b"</title><link>http://127.0.0.1/berita/1</link><guid>b-1</guid></item></channel></rss>")


def _sources(runtime):
    with runtime.db.read() as s:
        rows = list(s.scalars(select(FeedSource).order_by(FeedSource.id)))
        s.expunge_all()  # plain values, readable after the session ends
        return rows


def _form(opd, channels, url, **extra):
    data = {"opd": str(opd.id), "name": "Berita situs Kominfo", "url": url,
            "channel_ids": [str(c.id) for c in channels], "category": "setiap_saat",
            "requires_approval": "1", "interval_minutes": "5"}
    data.update(extra)
    return data


def test_feed_sources_page(ui, make, runtime) -> None:
    opd = make.opd("Dinas Kominfo", timezone="Asia/Makassar")
    make.person("editor", opd, username="operator")
    site = make.channel(opd, "site", "Situs Kominfo")
    other = make.opd("Kecamatan Lain")
    their_channel = make.channel(other, "site", "Situs Kecamatan")
    their_editor = make.person("editor", other)
    with runtime.db.write() as s:
        theirs = feed_service.create_feed_source(
            s, their_editor.principal, runtime.settings, other.id,
            {"name": "Feed kecamatan", "url": "http://127.0.0.1:9/feed",
             "target_channel_ids": [their_channel.id]}).id

    ui.login("operator")
    dashboard = ui.text("/admin/")
    assert 'href="/admin/sumber-feed"' in dashboard and "Sumber feed" in dashboard
    page = ui.text("/admin/sumber-feed")
    assert "Belum ada sumber feed." in page and "Feed kecamatan" not in page
    form = ui.text("/admin/sumber-feed/baru")
    assert 'name="csrf_token"' in form and "Situs Kominfo" in form
    assert "Situs Kecamatan" not in form

    with LoopbackServer() as server:
        server.route("/feed", lambda h: send(h, 200, RSS, "application/rss+xml"))
        server.route("/rusak", lambda h: send(h, 500, b"galat", "text/plain"))
        url = server.url("/feed")

        # No CSRF token: refused, nothing saved.
        response = ui.client.post("/admin/sumber-feed", data=_form(opd, [site], url))
        assert response.status_code == 400 and _sources(runtime)[1:] == []
        # Refusals name the problem and keep what was typed.
        response = ui.post("/admin/sumber-feed", _form(opd, [site], "http://10.1.2.3/feed"))
        text = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422 and "10.1.2.3" in text and "ditolak" in text
        assert 'value="Berita situs Kominfo"' in text
        response = ui.post("/admin/sumber-feed", _form(opd, [their_channel], url))
        assert response.status_code == 422
        assert "tidak ada di OPD ini" in html.unescape(response.get_data(as_text=True))
        assert [s.id for s in _sources(runtime)] == [theirs]

        response = ui.post("/admin/sumber-feed", _form(opd, [site], url))
        assert response.status_code == 302, response.get_data(as_text=True)
        mine = _sources(runtime)[-1]
        assert (mine.opd_id, mine.url, mine.target_channel_ids) == (opd.id, url, [site.id])
        assert mine.category == "setiap_saat" and mine.requires_approval is True
        assert mine.poll_interval_seconds == 300 and mine.enabled is True

        with runtime.db.write() as s:  # only ours is due
            s.execute(update(FeedSource).where(FeedSource.id == theirs)
                      .values(next_poll_at=utcnow() + timedelta(hours=1)))
        assert poll_due_feeds(runtime, "w1") == 1
        page = ui.text("/admin/sumber-feed")
        assert "Berita situs Kominfo" in page and "belum pernah" not in page
        assert "WITA" in page  # last poll in the OPD's zone

        # Change it to a failing address: the error shows in the list and on its page.
        edit_url = f"/admin/sumber-feed/{mine.id}"
        response = ui.post(edit_url, _form(opd, [site], server.url("/rusak"),
                                           name="Berita (rusak)", interval_minutes="10",
                                           enabled="1"))
        assert response.status_code == 302, response.get_data(as_text=True)
        assert poll_due_feeds(runtime, "w1") == 1
        page = html.unescape(ui.text("/admin/sumber-feed"))
        assert "Berita (rusak)" in page and "500" in page
        assert "500" in html.unescape(ui.text(edit_url))

        # Poll now makes it due at once.
        with runtime.db.write() as s:
            s.execute(update(FeedSource).where(FeedSource.id == mine.id)
                      .values(next_poll_at=utcnow() + timedelta(hours=1)))
        assert ui.post(f"{edit_url}/periksa").status_code == 302
        assert _sources(runtime)[-1].next_poll_at <= utcnow()
        # Unchecking "aktif" disables it.
        ui.post(edit_url, _form(opd, [site], server.url("/rusak"), name="Berita (rusak)"))
        assert _sources(runtime)[-1].enabled is False

    # Another OPD's source can be neither seen nor removed.
    assert ui.get(f"/admin/sumber-feed/{theirs}").status_code == 404
    ui.post(f"/admin/sumber-feed/{theirs}/hapus")
    assert theirs in [s.id for s in _sources(runtime)]
    assert ui.post(f"{edit_url}/hapus").status_code == 302
    assert [s.id for s in _sources(runtime)] == [theirs]
    assert "Sumber feed dihapus." in ui.text("/admin/sumber-feed")

    # English
    ui.post("/admin/bahasa", {"locale": "en", "next": "/admin/sumber-feed"})
    page = ui.text("/admin/sumber-feed")
    assert "Feed sources" in page and "Sumber feed" not in page


def test_source_page_shows_what_was_skipped_and_why(ui, make, runtime) -> None:
    opd = make.opd("Dinas Kesehatan", timezone="Asia/Jayapura")
    make.person("approver", opd, username="ppid")
    site = make.channel(opd, "site", "Situs Dinkes")
    ui.login("ppid")
    with LoopbackServer() as server:
        server.route("/feed", lambda h: send(h, 200, RSS, "application/rss+xml"))
        response = ui.post("/admin/sumber-feed", _form(opd, [site], server.url("/feed"),
                                                        recurring="1"))
        assert response.status_code == 302, response.get_data(as_text=True)
        mine = _sources(runtime)[-1]
        assert mine.recurring is True
        page = html.unescape(ui.text(f"/admin/sumber-feed/{mine.id}"))
        assert "Artikel yang tidak diterbitkan" in page and "Belum ada" in page
        assert poll_due_feeds(runtime, "w1") == 1  # the first poll records "Posyandu"
    page = html.unescape(ui.text(f"/admin/sumber-feed/{mine.id}"))
    skipped = page.split("Artikel yang tidak diterbitkan", 1)[1]
    assert 'href="http://127.0.0.1/berita/1"' in skipped and "Posyandu" in skipped
    assert "pemeriksaan pertama hanya mencatat" in skipped and "WIT" in skipped
    assert 'name="recurring" value="1" checked' in page
    # Switched off again from the form.
    ui.post(f"/admin/sumber-feed/{mine.id}", _form(opd, [site], mine.url, enabled="1"))
    assert _sources(runtime)[-1].recurring is False
