"""Fixtures for the Facebook and Instagram tests: a Graph test server, an image server, and
channels pointed at them through the settings (``graph_url``)."""

from __future__ import annotations

import html
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from publisher import graph as graph_module
from publisher.channels.base import (
    ChannelInfo,
    ItemView,
    MediaView,
    OpdView,
    RenderContext,
)
from publisher.channels.facebook import FacebookPageChannel
from publisher.channels.instagram import InstagramChannel
from publisher.config import Settings
from publisher.render import Renderer

from .graph_server import GraphServer, GraphState, ImageServer

PAGE_ID = "104000000000001"
IG_ID = "17841400000000001"


def jpeg_bytes(width: int = 480, height: int = 600, color: str = "#1f5f8b") -> bytes:
    """A real small JPEG."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG", quality=70)
    return out.getvalue()


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), "#cc3300").save(out, "PNG")
    return out.getvalue()


@dataclass
class MetaEnv:
    """A Graph server with one Page linked to one Instagram account, and helpers."""

    server: GraphServer
    images: ImageServer
    settings: Settings
    renderer: Renderer
    tmp: Path
    page_token: str
    user_token: str
    counter: list[int] = field(default_factory=lambda: [0])

    @property
    def state(self) -> GraphState:
        return self.server.state

    def info(self, kind: str, **config: Any) -> ChannelInfo:
        base = {"page_id": PAGE_ID} if kind == "facebook" else {"ig_user_id": IG_ID,
                                                                 "page_id": PAGE_ID}
        return ChannelInfo(id=7 if kind == "facebook" else 8, opd_id=1, kind=kind,
                           name=kind, status="active", config={**base, **config},
                           secrets={"page_token": self.page_token})

    def facebook(self, token: str | None = None, **config: Any) -> FacebookPageChannel:
        info = self.info("facebook", **config)
        if token is not None:
            info = ChannelInfo(**{**info.__dict__, "secrets": {"page_token": token}})
        return FacebookPageChannel(info, self.settings)

    def instagram(self, token: str | None = None, **config: Any) -> InstagramChannel:
        info = self.info("instagram", **config)
        if token is not None:
            info = ChannelInfo(**{**info.__dict__, "secrets": {"page_token": token}})
        return InstagramChannel(info, self.settings)

    def image(self, name: str | None = None, body: bytes | None = None,
              content_type: str | None = "image/jpeg", *, on_disk: bool = False,
              alt: str = "Foto kegiatan") -> MediaView:
        """A MediaView served by the image server at ``/m/<name>`` and at its variant URLs
        (``/m/<name>/instagram.jpg``...), and written to disk when ``on_disk``."""
        self.counter[0] += 1
        name = name or f"img{self.counter[0]}"
        body = body if body is not None else jpeg_bytes()
        url = self.images.add(f"/m/{name}", body, content_type)
        for variant in ("instagram", "facebook"):
            self.images.add(f"/m/{name}/{variant}.jpg", body, content_type)
        path = ""
        if on_disk:
            file = self.tmp / name
            file.write_bytes(body)
            path = str(file)
        return MediaView(id=self.counter[0], public_url=url, path=path,
                         mime_type=content_type or "", alt_text=alt, width=480, height=600)

    def ctx(self, **kwargs: Any) -> RenderContext:
        return make_ctx(self.images.base_url, **kwargs)


def make_ctx(base_url: str, *, media: tuple[MediaView, ...] = (), body: str | None = None,
             title: str = "Jadwal Posyandu Desa Firdaus", publication_id: int = 41,
             content_hash: str = "ab" * 32) -> RenderContext:
    """A render context for one publication of a Dinas Kesehatan item."""
    text = body if body is not None else (
        "Posyandu Desa Firdaus buka setiap Selasa pukul 08.00 WIB di balai desa.")
    item = ItemView(
        id=publication_id, opd_id=1, slug="jadwal-posyandu", title=title,
        body_html=f"<p>{html.escape(text)}</p>", summary="", category="berkala", link="",
        version=1, content_hash=content_hash,
        site_url=f"https://dinkes.example.go.id/o/dinkes/i/{publication_id}/jadwal-posyandu",
    )
    opd = OpdView(id=1, name="Dinas Kesehatan", slug="dinkes", timezone="Asia/Jakarta",
                  tz_label="WIB")
    return RenderContext(publication_id=publication_id, item=item, opd=opd, media=media,
                         public_base_url=base_url, due_at=datetime.now(UTC))


def make_settings(tmp: Path, graph_url: str, public_base_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "instance_path": tmp, "database_url": "sqlite://", "secret_key": "test-secret",
        "graph_url": graph_url, "graph_version": "v24.0", "http_timeout": 2.0,
        "allow_loopback": True, "public_base_url": public_base_url,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(name="meta")
def meta_fixture(tmp_path: Path) -> Iterator[MetaEnv]:
    graph_module.throttle.reset()
    server = GraphServer()
    images = ImageServer()
    page_token = server.state.add_page(PAGE_ID, "Dinas Kesehatan Kab. Contoh",
                                       ig=(IG_ID, "dinkes_contoh"))
    user_token = server.state.add_user_token("USER-LONG-LIVED")
    settings = make_settings(tmp_path, server.url, images.base_url)
    try:
        yield MetaEnv(server=server, images=images, settings=settings, renderer=Renderer(),
                      tmp=tmp_path, page_token=page_token, user_token=user_token)
    finally:
        server.close()
        images.close()
        graph_module.throttle.reset()
