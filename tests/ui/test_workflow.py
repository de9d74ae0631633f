"""Compose → approve → publish → register, failures explained and retried, through the UI."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from PIL import Image
from sqlalchemy import select, update

from publisher.models import Item, Media, Opd, Publication, PublicationStatus
from publisher.timeutil import to_local, utcnow

from ..loopback_http import LoopbackServer, send


def _setup(make):
    opd = make.opd("Dinas Kominfo", timezone="Asia/Makassar")
    editor = make.person("editor", opd, username="operator")
    approver = make.person("approver", opd, username="ppid")
    site = make.channel(opd, "site", "Situs Kominfo")
    return opd, editor, approver, site


def _form(opd, channels, **extra):
    data = {"opd": str(opd.id), "title": "Jadwal Posyandu Desember",
            "body": "Posyandu **Desa Firdaus** dibuka pukul 08.00.", "category": "berkala",
            "summary": "Jadwal posyandu", "official_unit": "Bidang Kesehatan",
            "responsible": "Kepala Dinas", "made_at": "2026-11-20", "made_place": "Sei Rampah",
            "info_formats": ["online"], "retention": "5 tahun",
            "channel_ids": [str(c.id) for c in channels], "schedule_mode": "now",
            "action": "draft"}
    data.update(extra)
    return data


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_compose_draft_with_image_then_submit(ui, make, runtime):
    opd, _editor, _approver, site = _setup(make)
    ui.login("operator")
    assert "WITA" in ui.text("/admin/tulis")  # the OPD's zone label next to the time
    data = _form(opd, [site], image_0=(io.BytesIO(_png()), "foto.png"),
                 image_alt_0="Petugas menimbang balita")
    response = ui.post("/admin/tulis", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    item_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    with runtime.db.read() as s:
        item = s.get_one(Item, item_id)
        assert item.status == "draft" and item.source == "ui"
        assert "<strong>Desa Firdaus</strong>" in item.body_html
        assert [m.alt_text for m in item.media] == ["Petugas menimbang balita"]
        assert item.version == 2  # the images are part of the content hash
    page = ui.text(f"/admin/informasi/{item_id}")
    assert "Petugas menimbang balita" in page
    submitted = ui.post(f"/admin/informasi/{item_id}/ajukan", follow_redirects=True)
    assert "Diajukan untuk persetujuan" in submitted.get_data(as_text=True)


def test_uploads_are_processed_before_the_write_transaction(ui, make, runtime, monkeypatch):
    """Cleaning a large photo takes seconds: meanwhile no write lock may be held (on SQLite it
    would stop every worker). Another connection writes while the upload is processed; an
    animation kept as one frame is said."""
    from publisher.services import media as media_service

    opd, _e, _a, site = _setup(make)
    ui.login("operator")
    real = media_service.save_image
    others_wrote = []

    def save_image(settings, data, **kw):  # type: ignore[no-untyped-def]
        sqlite = runtime.db.dialect == "sqlite"
        with runtime.db.engine.connect() as conn:  # gives up after 2 s behind a lock
            if sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=2000")
                conn.commit()
            conn.execute(update(Opd).where(Opd.id == opd.id).values(color="#123456"))
            conn.commit()
            if sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=60000")
                conn.commit()
        others_wrote.append(True)
        return real(settings, data, **kw)

    monkeypatch.setattr(media_service, "save_image", save_image)
    frames = [Image.new("RGB", (80, 60), c) for c in ((200, 0, 0), (0, 0, 200))]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100)
    data = _form(opd, [site], image_0=(io.BytesIO(gif.getvalue()), "gerak.gif"),
                 image_alt_0="Animasi jadwal")
    response = ui.post("/admin/tulis", data, content_type="multipart/form-data",
                       follow_redirects=True)
    assert response.status_code == 200 and others_wrote == [True]
    assert "gerak.gif: Gambar bergerak (animasi) disimpan sebagai gambar diam" in (
        response.get_data(as_text=True))


def test_an_upload_over_the_limit_says_the_limit(ui, make, app):
    opd, _e, _a, site = _setup(make)
    ui.login("operator")
    app.config["MAX_CONTENT_LENGTH"] = 4000
    data = _form(opd, [site], image_0=(io.BytesIO(b"\xff" * 8000), "besar.jpg"),
                 image_alt_0="Foto")
    response = ui.post("/admin/tulis", data, content_type="multipart/form-data")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Berkas terlalu besar" in page and "20,0 MB" in page


def test_image_without_alt_text_is_refused(ui, make, runtime):
    opd, _e, _a, site = _setup(make)
    ui.login("operator")
    data = _form(opd, [site], image_0=(io.BytesIO(_png()), "foto.png"), image_alt_0="")
    response = ui.post("/admin/tulis", data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "teks alternatif (alt) gambar wajib diisi" in response.get_data(as_text=True)
    with runtime.db.read() as s:
        assert s.scalars(select(Item)).first() is None
        assert s.scalars(select(Media)).first() is None


def test_exempt_information_cannot_be_submitted(ui, make):
    opd, _e, _a, _site = _setup(make)
    ui.login("operator")
    page = ui.text("/admin/tulis")
    assert 'id="exemption"' in page and 'id="btn-submit"' in page
    data = _form(opd, [], category="dikecualikan", exemption_article="b",
                 exemption_basis="Menghambat proses penegakan hukum",
                 exemption_until="2030-01-01", action="submit")
    response = ui.post("/admin/tulis", data)
    assert response.status_code == 422
    assert "informasi dikecualikan" in response.get_data(as_text=True)
    draft = ui.post("/admin/tulis", dict(data, action="draft"))
    assert draft.status_code == 302
    detail = ui.text(draft.headers["Location"])
    assert "Ajukan persetujuan" not in detail and "Pasal 17 huruf b" in detail


def test_previews_use_the_sender_render_code(ui, make):
    opd, _e, _a, site = _setup(make)
    hook = make.channel(opd, "webhook", "CMS Kominfo", config={"url": "http://127.0.0.1:9/x"})
    ui.login("operator")
    response = ui.post("/admin/tulis/pratinjau", _form(opd, [site, hook]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('class="preview"') == 2
    assert "Situs Kominfo" in html and "CMS Kominfo" in html
    assert "<strong>Desa Firdaus</strong>" in html  # site: the sanitised body
    assert "/o/dinas-kominfo/i/0/jadwal-posyandu-desember" in html  # site: the stable URL shape
    hostile = ui.post("/admin/tulis/pratinjau",
                      _form(opd, [site], body="<script>alert(1)</script><p onclick=x>ok</p>"))
    assert "<script>" not in hostile.get_data(as_text=True)
    assert "onclick" not in hostile.get_data(as_text=True)


def test_drafter_cannot_approve_and_another_approver_can(ui, ui2, make, runtime):
    opd, _editor, _approver, site = _setup(make)
    make.person("approver", opd, username="ppid2")
    ui.login("ppid")  # an approver drafting
    at = to_local(utcnow() + timedelta(days=2), "Asia/Makassar").strftime("%Y-%m-%dT%H:%M")
    response = ui.post("/admin/tulis", _form(opd, [site], schedule_mode="at", schedule_at=at,
                                              action="submit"))
    item_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    page = ui.text(f"/admin/informasi/{item_id}")
    assert 'id="own-draft"' in page and "Setujui" not in page
    refused = ui.post(f"/admin/informasi/{item_id}/setujui", follow_redirects=True)
    assert "tidak boleh menyetujui informasi yang Anda susun sendiri" in refused.get_data(
        as_text=True)
    assert "Jadwal Posyandu Desember" in ui.text("/admin/persetujuan")

    ui2.login("ppid2")
    assert "Setujui" in ui2.text(f"/admin/informasi/{item_id}")
    ui2.post(f"/admin/informasi/{item_id}/setujui", {"comment": "Lanjut"})
    with runtime.db.read() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == item_id)).one()
        assert pub.status == PublicationStatus.SCHEDULED
        due_local = to_local(pub.due_at, "Asia/Makassar").strftime("%Y-%m-%dT%H:%M")
        assert due_local == at
        channel_id = pub.channel_id
    calendar = ui2.text(f"/admin/kalender?date={at[:10]}")
    assert "Jadwal Posyandu Desember" in calendar and "WITA" in calendar
    month = ui2.text(f"/admin/kalender?view=month&date={at[:10]}")
    assert "Jadwal Posyandu Desember" in month
    for view in ("week", "month"):  # the channel filter narrows both the posts and the counts
        page = f"/admin/kalender?view={view}&date={at[:10]}&channel="
        own, other = ui2.text(f"{page}{channel_id}"), ui2.text(f"{page}{channel_id + 99}")
        assert "Jadwal Posyandu Desember" in own and "Jadwal Posyandu Desember" not in other


def test_return_needs_a_comment(ui, make):
    opd, editor, _approver, site = _setup(make)
    item = make.item(editor, opd, [site.id])
    with make.runtime.db.write() as s:
        from publisher.services import items
        items.submit_item(s, editor.principal, make.runtime.settings, item.id)
    ui.login("ppid")
    empty = ui.post(f"/admin/informasi/{item.id}/kembalikan", {"comment": " "},
                    follow_redirects=True)
    assert "tuliskan alasan pengembalian" in empty.get_data(as_text=True)
    ui.post(f"/admin/informasi/{item.id}/kembalikan", {"comment": "Lengkapi ringkasan"})
    ui.post("/admin/keluar")
    ui.login("operator")
    assert "Lengkapi ringkasan" in ui.text("/admin/persetujuan")


def test_published_item_in_register_and_timeline(ui, make):
    opd, editor, approver, site = _setup(make)
    item = make.published_item(editor, approver, opd, [site.id], summary="Ringkasan posyandu")
    make.dispatcher().drain()
    ui.login("operator")
    detail = ui.text(f"/admin/informasi/{item.id}")
    assert "publication.published" in detail
    assert f"/o/dinas-kominfo/i/{item.id}/" in detail  # link to the live post
    register = ui.text(f"/admin/register?opd={opd.id}")
    assert item.title in register and "Ringkasan posyandu" in register
    assert "/o/dinas-kominfo/dip?tahun=" in register
    csv = ui.get(f"/admin/register.csv?opd={opd.id}")
    assert csv.status_code == 200 and item.title in csv.get_data(as_text=True)
    xlsx = ui.get(f"/admin/register.xlsx?opd={opd.id}")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    dashboard = ui.text(f"/admin/?opd={opd.id}")
    assert "<svg" in dashboard and "target Monev 4/minggu" in dashboard
    assert "Minggu ini: 1 dari target 4." in dashboard
    assert 'id="no-worker"' in dashboard  # no scheduler runs in these tests: said plainly


def test_failed_publication_is_explained_and_retried(ui, make, runtime):
    opd, editor, approver, _site = _setup(make)
    answers = [400]

    def receiver(h):
        send(h, answers.pop(0) if answers else 200, b'{"error": "judul terlalu panjang"}',
             "application/json")

    with LoopbackServer() as server:
        server.route("/hook", receiver)
        hook = make.channel(opd, "webhook", "CMS Kominfo", config={"url": server.url("/hook")})
        item = make.published_item(editor, approver, opd, [hook.id])
        make.dispatcher().drain()
        ui.login("operator")
        queue = ui.text("/admin/antrean?status=failed")
        assert item.title in queue
        assert "Platform menolak kiriman ini" in queue  # plain explanation
        assert "HTTP 400" in queue  # and the receiver's own message
        with runtime.db.read() as s:
            pub_id = s.scalars(select(Publication.id).where(Publication.item_id == item.id)).one()
        ui.post(f"/admin/publikasi/{pub_id}/kirim-ulang", {"next": "/admin/antrean"})
        make.dispatcher().drain()
    with runtime.db.read() as s:
        assert s.get_one(Publication, pub_id).status == PublicationStatus.PUBLISHED
    assert "publication.retry_requested" in ui.text(f"/admin/informasi/{item.id}")


def test_users_only_see_their_own_opd(ui, make):
    opd_a, editor, _approver, site = _setup(make)
    opd_b = make.opd("Kecamatan Sei Rampah")
    editor_b = make.person("editor", opd_b, username="operator_b")
    site_b = make.channel(opd_b, "site", "Situs Kecamatan")
    other = make.item(editor_b, opd_b, [site_b.id], title="Rahasia kecamatan")
    mine = make.item(editor, opd_a, [site.id], title="Milik dinas")
    ui.login("operator")
    assert ui.get(f"/admin/informasi/{other.id}").status_code == 404
    assert ui.get(f"/admin/informasi/{other.id}/ubah").status_code == 302
    assert ui.get(f"/admin/saluran/{site_b.id}").status_code == 404
    for page in ("/admin/antrean", "/admin/persetujuan", "/admin/kalender", "/admin/saluran",
                 "/admin/audit", "/admin/"):
        assert "Kecamatan" not in ui.text(page), page
    assert mine.title in ui.text(f"/admin/informasi/{mine.id}")
    assert ui.post(f"/admin/informasi/{other.id}/batalkan").status_code == 302
    with make.runtime.db.read() as s:
        assert s.get_one(Item, other.id).status == "draft"


def test_channels_forms_come_from_the_class_and_secrets_stay_hidden(ui, make, runtime):
    opd, _e, _a, _site = _setup(make)
    ui.login("ppid")
    form = ui.text("/admin/saluran?kind=wordpress")
    for name in ("cfg_url", "cfg_username", "cfg_app_password"):
        assert f'name="{name}"' in form
    assert re.search(r'type="password" id="cfg-app_password"', form)
    response = ui.post("/admin/saluran", {
        "kind": "webhook", "opd": str(opd.id), "name": "CMS", "cfg_url": "http://127.0.0.1:9/in",
        "cfg_signing_secret": "", "slot_days": ["0", "2"], "slot_times": "08:00, 12:00"})
    assert response.status_code == 302
    page = ui.text(response.headers["Location"])
    assert "whsec_" not in page and "http://127.0.0.1:9/in" in page
    channel_id = int(response.headers["Location"].rsplit("/", 1)[-1])
    ui.post(f"/admin/saluran/{channel_id}/jeda")
    assert "dijeda" in ui.text(f"/admin/saluran/{channel_id}")
    resumed = ui.post(f"/admin/saluran/{channel_id}/lanjutkan", follow_redirects=True)
    assert "Saluran aktif kembali" in resumed.get_data(as_text=True)
    tested = ui.post(f"/admin/saluran/{channel_id}/uji", follow_redirects=True)
    assert "Uji saluran gagal" in tested.get_data(as_text=True)  # nothing listens on port 9
    bad = ui.post("/admin/saluran", {"kind": "webhook", "opd": str(opd.id), "name": "X",
                                     "cfg_url": "ftp://x"}, follow_redirects=True)
    assert "harus diawali http://" in bad.get_data(as_text=True)


def test_editor_cannot_manage_channels_or_users(ui, make):
    _opd, _e, _a, site = _setup(make)
    ui.login("operator")
    assert "Tambah saluran" not in ui.text("/admin/saluran")
    refused = ui.post(f"/admin/saluran/{site.id}/jeda", follow_redirects=True)
    assert "hanya PPID Pelaksana (approver) atau admin" in refused.get_data(as_text=True)
    assert ui.get("/admin/pengguna").status_code == 403


def test_admin_creates_opd_and_user(ui, make):
    admin = make.admin()
    ui.login(admin.username)
    ui.post("/admin/opd", {"name": "Desa Firdaus", "timezone": "Asia/Jayapura",
                           "approval_required": "1"})
    page = ui.text("/admin/pengguna")
    assert "Desa Firdaus" in page and "WIT" in page
    opd_id = re.search(r'<option value="(\d+)">Desa Firdaus</option>', page).group(1)
    ui.post("/admin/pengguna", {"username": "kades", "password": "rahasia-desa-1",
                                "full_name": "Kepala Desa", "role": "approver", "opd": opd_id})
    assert "kades" in ui.text("/admin/pengguna")
    short = ui.post("/admin/pengguna", {"username": "x", "password": "pendek", "role": "editor",
                                        "opd": opd_id}, follow_redirects=True)
    assert "kata sandi minimal 10 karakter" in short.get_data(as_text=True)


def test_an_unknown_parent_opd_is_refused_not_made_top_level(ui, make, runtime):
    ui.login(make.admin().username)
    for parent in ("999999", "tidak-ada", "99999999999999999999999"):
        page = ui.post("/admin/opd", {"name": f"Desa {parent}", "timezone": "Asia/Jakarta",
                                      "parent": parent}, follow_redirects=True)
        assert "OPD induk" in page.get_data(as_text=True) and "tidak ditemukan" in page.get_data(
            as_text=True)
    with runtime.db.read() as s:
        assert s.scalars(select(Opd.name).where(Opd.name.like("Desa %"))).all() == []


def test_audit_page_verifies_the_chain(ui, make):
    opd, editor, approver, site = _setup(make)
    make.published_item(editor, approver, opd, [site.id])
    ui.login(make.admin().username)
    page = ui.text("/admin/audit?verify=1")
    assert "Rantai utuh" in page
    filtered = ui.text("/admin/audit?action=item")
    assert "item.approved" in filtered and "channel.created" not in filtered
    ui.post("/admin/keluar")
    ui.login("operator")
    assert ui.get("/admin/audit?verify=1").status_code == 403


def test_channel_kind_with_connect_is_checked_before_it_is_created(ui, make, runtime):
    from publisher.models import Channel

    opd, _e, _a, _site = _setup(make)
    ui.login("ppid")
    with LoopbackServer() as server:  # answers 404 everywhere: not a WordPress site
        response = ui.post("/admin/saluran", {
            "kind": "wordpress", "opd": str(opd.id), "name": "Situs WP",
            "cfg_url": server.url("/"), "cfg_username": "editor",
            "cfg_app_password": "abcd efgh ijkl mnop qrst uvwx"}, follow_redirects=True)
        assert server.requests, "the site was not contacted"
    page = response.get_data(as_text=True)
    assert 'class="flash error"' in page
    assert "abcd efgh" not in page  # the secret never comes back
    with runtime.db.read() as s:
        assert s.scalars(select(Channel).where(Channel.kind == "wordpress")).first() is None


def test_unconfirmed_publication_says_where_to_check_and_reconciles_on_retry(ui, make, runtime):
    """The receiver stored the item but answered 503, and its lookup was down: attempts ran
    out while it may hold the item. The queue says *perlu dicek* and where to look; "Periksa &
    kirim ulang" asks first and, finding it, sends nothing again."""
    opd, editor, approver, _site = _setup(make)
    stored: list[bytes] = []
    lookups = {"up": False}

    def hook(h):
        stored.append(h.rfile.read(int(h.headers["Content-Length"])))
        send(h, 503, b'{"error": "sedang sibuk"}', "application/json")

    def lookup(h):
        if lookups["up"]:
            send(h, 200, b'{"id": "berita-77", "url": "http://cms.test/berita-77"}',
                 "application/json")
        else:
            send(h, 503, b'{"error": "sedang sibuk"}', "application/json")

    runtime.retry_policy.max_attempts = 2
    with LoopbackServer() as server:
        server.route("/hook", hook)
        server.route("/lookup", lookup)
        channel = make.channel(opd, "webhook", "CMS Kominfo", config={
            "url": server.url("/hook"), "lookup_url": server.url("/lookup")})
        item = make.published_item(editor, approver, opd, [channel.id])
        for _ in range(4):
            make.dispatcher().drain()
            with runtime.db.write() as s:  # the retry falls due at once
                pub = s.scalars(select(Publication).where(Publication.item_id == item.id)).one()
                pub.due_at = utcnow()
                status = pub.status
            if status == PublicationStatus.UNCONFIRMED:
                break
        assert status == PublicationStatus.UNCONFIRMED and len(stored) == 1
        ui.login("operator")
        queue = ui.text("/admin/antrean?status=unconfirmed")
        assert item.title in queue and "perlu dicek" in queue
        assert "Tempat memeriksa:" in queue and server.url("/hook") in queue
        assert "Periksa &amp; kirim ulang" in queue
        lookups["up"] = True
        ui.post(f"/admin/publikasi/{pub.id}/kirim-ulang", {"next": "/admin/antrean"})
        make.dispatcher().drain()
    with runtime.db.read() as s:
        pub = s.get_one(Publication, pub.id)
        assert (pub.status, pub.remote_id) == (PublicationStatus.PUBLISHED, "berita-77")
    assert len(stored) == 1, "sent again instead of asking the receiver first"
