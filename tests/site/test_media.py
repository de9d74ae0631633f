"""Public media: served by token with its type and cache headers; nothing else is reachable."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from publisher.models import Media

from .conftest import World

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def add_media(world: World, opd_id: int, storage_key: str, data: bytes | None = PNG, *,
              item_id: int | None = None, mime: str = "image/png", alt: str = "") -> str:
    """A Media row (and its file under the instance's media folder); returns its token."""
    root: Path = world.runtime.settings.instance_path / "media"
    if data is not None:
        path = root / storage_key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    token = secrets.token_urlsafe(24)
    with world.runtime.db.write() as s:
        s.add(Media(opd_id=opd_id, item_id=item_id, sha256=hashlib.sha256(data or b"").hexdigest(),
                    storage_key=storage_key, mime_type=mime, size_bytes=len(data or b""),
                    alt_text=alt, public_token=token, width=1, height=1))
    return token


def test_media_is_served_with_type_and_long_cache(client, world: World) -> None:  # type: ignore[no-untyped-def]
    token = add_media(world, world.kominfo.opd.id, "2026/11/ab/cd.png")
    response = client.get(f"/m/{token}")
    assert response.status_code == 200
    assert response.data == PNG
    assert response.mimetype == "image/png"
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    etag = response.headers["ETag"]
    assert client.get(f"/m/{token}", headers={"If-None-Match": etag}).status_code == 304


def test_unknown_tokens_and_traversal_are_404(client, world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    secret = world.runtime.settings.instance_path / "secret_media_test.txt"
    (secret.parent / "media").mkdir(parents=True, exist_ok=True)
    secret.write_text("rahasia")
    escaping = add_media(world, world.kominfo.opd.id, "../secret_media_test.txt", None,
                         mime="text/plain")
    absolute = add_media(world, world.kominfo.opd.id, str(secret), None, mime="text/plain")
    missing_file = add_media(world, world.kominfo.opd.id, "tidak/ada.png", None)
    for token in (escaping, absolute, missing_file, secrets.token_urlsafe(24)):
        response = client.get(f"/m/{token}")
        assert response.status_code == 404
        assert b"rahasia" not in response.data
    for url in (
        "/m/..%2f..%2fsecret_media_test.txt", "/m/..%2Fpublisher.db", "/m/%2e%2e",
        "/m/../secret_media_test.txt", "/m/", "/m/a",
    ):
        response = client.get(url)
        assert response.status_code in (404, 308), url
        assert b"rahasia" not in response.data, url


def test_media_of_exempt_items_is_not_served(client, world: World) -> None:  # type: ignore[no-untyped-def]
    item = world.publish(world.kominfo, title="Dengan Gambar")
    token = add_media(world, world.kominfo.opd.id, "x/gambar.png", item_id=item.id,
                      alt="Peta lokasi posyandu")
    assert client.get(f"/m/{token}").status_code == 200
    html = client.get(f"/o/dinas-kominfo/i/{item.id}/{item.slug}").get_data(as_text=True)
    assert f'src="/m/{token}"' in html and 'alt="Peta lokasi posyandu"' in html
    world.set_item(item.id, category="dikecualikan", exemption_article="h")
    assert client.get(f"/m/{token}").status_code == 404
