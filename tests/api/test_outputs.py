"""Response schemas list exactly what the serialisers produce (nothing silently dropped)."""

from __future__ import annotations

from io import BytesIO

from PIL import Image
from sqlalchemy import select

from publisher.api import outputs
from publisher.api.serialize import (
    audit_out,
    channel_out,
    item_detail,
    media_out,
    opd_out,
    publication_out,
)
from publisher.models import AuditEvent, Channel, Item, Media, Opd, Publication


def _keys(schema: type) -> set[str]:
    return set(schema().fields)


def test_schemas_match_serialisers(api, world, make, runtime) -> None:  # type: ignore[no-untyped-def]
    item = make.published_item(world.editor_a, world.approver_a, world.a, [world.site_a.id])
    png = BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    response = api.client.post(
        "/api/v1/media", headers=world.editor_a.auth, content_type="multipart/form-data",
        data={"alt_text": "x", "opd": "kominfo", "file": (BytesIO(png.getvalue()), "a.png")})
    assert response.status_code == 201
    base = runtime.settings.public_base_url
    with runtime.db.read() as s:
        row = s.get(Item, item.id)
        assert set(item_detail(s, row, base)) == _keys(outputs.ItemDetailOut)
        assert set(opd_out(s.get(Opd, world.a.id))) == _keys(outputs.OpdOut)
        assert set(channel_out(s.get(Channel, world.site_a.id), runtime)) == _keys(
            outputs.ChannelOut)
        pub = s.scalars(select(Publication)).first()
        assert set(publication_out(pub, "Asia/Jakarta")) == _keys(outputs.PublicationOut)
        media = s.scalars(select(Media)).first()
        assert set(media_out(media, base, "Asia/Jakarta")) == _keys(outputs.MediaOut)
        event = s.scalars(select(AuditEvent)).first()
        assert set(audit_out(event)) == _keys(outputs.AuditEventOut)
    status, preview, _ = api.get(f"/items/{item.id}/preview", world.editor_a)
    assert status == 200 and set(preview["channels"][0]) <= _keys(outputs.PreviewChannelOut)
    assert "payload" in preview["channels"][0]
