"""Image uploads: normalised by the image pipeline, stored under an unguessable token."""

from __future__ import annotations

import hashlib
from io import BytesIO

from PIL import Image
from sqlalchemy import func, select

from publisher.models import Item, Media

from .conftest import assert_problem, db_state, item_body


def png_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _upload(api, who, data: bytes, name: str = "foto.png", **form):  # type: ignore[no-untyped-def]
    fields = {"file": (BytesIO(data), name), **form}
    response = api.client.post("/api/v1/media", headers=who.auth, data=fields,
                               content_type="multipart/form-data")
    return response.status_code, response.json, response


def test_upload_attaches_to_item_and_stores_normalised_copy(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    _, item, _ = api.post("/items", world.editor_a, item_body(world.a, [world.site_a.id]))
    status, media, resp = _upload(api, world.editor_a, png_bytes(), alt_text="Peta lokasi",
                                  item_id=str(item["id"]))
    assert status == 201, media
    assert media["item_id"] == item["id"] and media["opd_id"] == world.a.id
    assert media["mime_type"] == "image/png" and (media["width"], media["height"]) == (64, 48)
    assert media["alt_text"] == "Peta lokasi"
    assert resp.headers["Location"].endswith(f"/api/v1/media/{media['id']}")
    with runtime.db.read() as s:
        row = s.get(Media, media["id"])
        assert media["url"].endswith(f"/m/{row.public_token}") and len(row.public_token) >= 32
        stored = (runtime.settings.instance_path / "media" / row.storage_key).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == media["sha256"]
    status, item, _ = api.get(f"/items/{item['id']}", world.editor_a)
    assert [m["id"] for m in item["media"]] == [media["id"]]
    assert item["version"] == 2  # images are content


def test_upload_refusals_name_the_problem(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    before = db_state(runtime)
    status, problem, _ = _upload(api, world.editor_a, b"%PDF-1.7 not an image", "x.png",
                                 alt_text="dokumen", opd="kominfo")
    assert status == 415
    assert_problem(problem, 415, "file")
    status, problem, _ = _upload(api, world.editor_a, png_bytes()[:60], alt_text="rusak",
                                 opd="kominfo")
    assert status == 422
    assert_problem(problem, 422, "file")
    status, problem, _ = _upload(api, world.editor_a, png_bytes(), alt_text="  ", opd="kominfo")
    assert status == 422
    assert_problem(problem, 422, "alt_text")
    status, problem, _ = _upload(api, world.editor_a, png_bytes(), alt_text="x",
                                 opd="sei-rampah")
    assert status == 422
    assert_problem(problem, 422, "opd")
    response = api.client.post("/api/v1/media", headers=world.editor_a.auth,
                               data={"alt_text": "tanpa berkas", "opd": "kominfo"},
                               content_type="multipart/form-data")
    assert response.status_code == 422
    assert_problem(response.json, 422, "file")
    response = api.client.post("/api/v1/media", headers=world.editor_a.auth,
                               data={"alt_text": "teks", "opd": "kominfo", "file": "bukan berkas"},
                               content_type="multipart/form-data")
    assert response.status_code == 422
    assert_problem(response.json, 422, "file")
    assert db_state(runtime) == before
    assert not list((runtime.settings.instance_path / "media").rglob("*.*"))


def test_upload_over_the_size_cap_is_413(api, app, world, runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.settings.max_upload_bytes = 1000
    status, problem, _ = _upload(api, world.editor_a, png_bytes((400, 400)) + b"\0" * 2000,
                                 alt_text="besar", opd="kominfo")
    assert status == 413
    assert_problem(problem, 413, "file")
    app.config["MAX_CONTENT_LENGTH"] = 2000
    status, problem, _ = _upload(api, world.editor_a, b"\0" * 5000, alt_text="x", opd="kominfo")
    assert status == 413 and problem["status"] == 413
    assert "0,0 MB" in problem["detail"] and "berkas gambar paling besar" in problem["detail"]
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Media)) == 0


def test_media_is_scoped_to_the_opd(api, world, runtime) -> None:  # type: ignore[no-untyped-def]
    status, theirs, _ = _upload(api, world.editor_b, png_bytes(), alt_text="Kantor camat",
                                opd="sei-rampah")
    assert status == 201
    assert api.get(f"/media/{theirs['id']}", world.editor_a)[0] == 404
    status, page, _ = api.get("/media", world.editor_a)
    assert status == 200 and page["items"] == []
    assert api.get(f"/media/{theirs['id']}", world.editor_b)[0] == 200
    _, their_item, _ = api.post("/items", world.editor_b, item_body(world.b, [world.site_b.id]))
    status, problem, _ = _upload(api, world.editor_a, png_bytes(), alt_text="x",
                                 item_id=str(their_item["id"]))
    assert status == 422
    assert_problem(problem, 422, "item_id")
    with runtime.db.read() as s:
        assert s.get(Item, their_item["id"]).media == []


def test_uploaded_image_is_served_at_its_public_url(api, world) -> None:  # type: ignore[no-untyped-def]
    status, media, _ = _upload(api, world.editor_a, png_bytes(), alt_text="Logo",
                               opd="kominfo")
    assert status == 201
    path = media["url"].removeprefix("http://127.0.0.1:5000")
    response = api.client.get(path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert hashlib.sha256(response.data).hexdigest() == media["sha256"]


def test_an_animation_kept_as_one_frame_is_said(api, world) -> None:  # type: ignore[no-untyped-def]
    frames = [Image.new("RGB", (120, 90), c) for c in ((200, 0, 0), (0, 0, 200))]
    out = BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100)
    status, media, _ = _upload(api, world.editor_a, out.getvalue(), "gerak.gif",
                               alt_text="Animasi jadwal", opd="kominfo")
    assert status == 201, media
    assert media["warnings"] == ["Gambar bergerak (animasi) disimpan sebagai gambar diam: "
                                 "hanya bingkai pertamanya yang dipakai."]
