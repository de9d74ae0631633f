"""Facebook and Instagram captions: templates, KIP footer, Instagram's limits."""

from __future__ import annotations

from pathlib import Path

from publisher.captions import (
    INSTAGRAM_LIMITS,
    KIP_FOOTER,
    Limits,
    cut,
    fits,
    hashtags,
    mentions,
    render_caption,
)
from publisher.render import Renderer

from .meta_fixtures import make_ctx


class Env:
    """Captions need no servers: a renderer and contexts."""

    def __init__(self) -> None:
        self.renderer = Renderer()

    def ctx(self, **kwargs):
        return make_ctx("https://dinkes.example.go.id", **kwargs)


def env(tmp_path: Path) -> Env:
    return Env()


def test_short_caption_has_title_body_link_and_footer(tmp_path: Path) -> None:
    e = env(tmp_path)
    ctx = e.ctx()
    text = render_caption("instagram", ctx, e.renderer, INSTAGRAM_LIMITS)
    assert text.startswith("Jadwal Posyandu Desa Firdaus\n\nPosyandu Desa Firdaus buka")
    assert f"Selengkapnya: link di bio / {ctx.item.site_url}" in text
    assert KIP_FOOTER in text
    assert "Informasi Berkala · Dinas Kesehatan" in text
    assert "#KeterbukaanInformasi" in text
    fb = render_caption("facebook", ctx, e.renderer, Limits(chars=63_206))
    assert f"Selengkapnya: {ctx.item.site_url}" in fb and KIP_FOOTER in fb


def test_long_body_is_cut_at_a_word_and_points_to_the_site(tmp_path: Path) -> None:
    e = env(tmp_path)
    words = " ".join(f"kata{n:04d}" for n in range(600))  # ~5,400 characters
    ctx = e.ctx(body=words)
    text = render_caption("instagram", ctx, e.renderer, INSTAGRAM_LIMITS)
    assert len(text) <= 2200
    assert f"Teks lengkap: link di bio / {ctx.item.site_url}" in text
    assert KIP_FOOTER in text  # the footer survives the cut
    body = text.split("\n\n")[1]
    assert body.endswith("…")
    last_word = body[:-1].split()[-1]
    assert len(last_word) == len("kata0000")  # no partial word
    assert len(text) > 2000  # the room is used


def test_hashtag_and_mention_limits(tmp_path: Path) -> None:
    e = env(tmp_path)
    body = " ".join(f"#tagar{n}" for n in range(40)) + " " + " ".join(
        f"@akun{n}" for n in range(25)) + " kontak: ppid@dinkes.go.id"
    ctx = e.ctx(body=body)
    text = render_caption("instagram", ctx, e.renderer, INSTAGRAM_LIMITS)
    assert len(hashtags(text)) <= 30
    assert len(mentions(text)) <= 20
    assert "#KeterbukaanInformasi" in text  # the template's own tags are kept
    assert fits(text, INSTAGRAM_LIMITS)


def test_emails_are_not_mentions() -> None:
    assert mentions("tulis ke ppid@dinkes.go.id atau @dinkes_kab") == ["@dinkes_kab"]
    assert hashtags("lihat https://x.go.id/#bagian dan #KIP") == ["#KIP"]


def test_override_that_ignores_body_is_still_within_limits(tmp_path: Path) -> None:
    e = env(tmp_path)
    e.renderer = Renderer(load_overrides=lambda: {
        (1, "instagram"): "{{ item.title }}\n{{ item.body_text }} #a #b"})
    ctx = e.ctx(body="panjang " * 600)
    text = render_caption("instagram", ctx, e.renderer, INSTAGRAM_LIMITS)
    assert len(text) <= 2200
    assert text.endswith(f"Selengkapnya: {ctx.item.site_url}")


def test_cut_unit() -> None:
    assert cut("satu dua tiga empat", Limits(chars=12)) == "satu dua…"
    assert cut("#a #b #c", Limits(chars=100, hashtags=2)) == "#a #b…"
    assert cut("pendek", Limits(chars=100)) == "pendek"
