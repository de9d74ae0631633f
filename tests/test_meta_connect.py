"""Connecting a Page (and its Instagram account) from a user or Page token; token health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from publisher.channels.base import AuthError
from publisher.channels.meta_connect import discover_pages, expiry_warning
from publisher.crypto import SecretBox

from .meta_fixtures import IG_ID, PAGE_ID, MetaEnv, meta_fixture  # noqa: F401


def test_user_token_lists_pages_with_instagram(meta: MetaEnv) -> None:
    meta.state.add_page("104000000000002", "Kecamatan Utara")
    found = discover_pages(meta.user_token, meta.settings)
    assert found.token_type == "USER"
    assert found.warnings == ()
    by_id = {p.page_id: p for p in found.pages}
    page = by_id[PAGE_ID]
    assert page.page_token == meta.page_token
    assert (page.ig_user_id, page.ig_username) == (IG_ID, "dinkes_contoh")
    assert page.can_post
    assert by_id["104000000000002"].ig_user_id is None
    # The token never shows up where people can see it.
    assert meta.page_token not in repr(page)
    assert meta.page_token not in str(page.public())
    specs = page.channel_specs()
    assert [s.kind for s in specs] == ["facebook", "instagram"]
    assert specs[1].config == {"ig_user_id": IG_ID, "ig_username": "dinkes_contoh",
                               "page_id": PAGE_ID}
    assert meta.page_token not in repr(specs)
    box = SecretBox("k")
    stored = box.encrypt(specs[0].secrets)
    assert meta.page_token not in stored
    assert box.decrypt(stored) == {"page_token": meta.page_token}
    assert meta.state.tokens_in_url == 0


def test_page_token_gives_that_page(meta: MetaEnv) -> None:
    found = discover_pages(meta.page_token, meta.settings)
    assert found.token_type == "PAGE"
    assert [(p.page_id, p.page_token, p.ig_user_id) for p in found.pages] == [
        (PAGE_ID, meta.page_token, IG_ID)
    ]


def test_invalid_or_expired_token_is_refused(meta: MetaEnv) -> None:
    with pytest.raises(AuthError):
        discover_pages("not-a-token", meta.settings)
    meta.state.invalidate(meta.user_token, 463)
    with pytest.raises(AuthError, match="kedaluwarsa"):
        discover_pages(meta.user_token, meta.settings)


def test_missing_permissions_and_close_expiry_are_warned(meta: MetaEnv) -> None:
    token = meta.state.add_user_token("USER-2", scopes=("pages_show_list",),
                                      expires_in=3 * 86400)
    found = discover_pages(token, meta.settings)
    text = " ".join(found.warnings)
    assert "pages_manage_posts" in text
    assert "instagram_content_publish" in text
    assert "berakhir dalam 3 hari" in text
    assert found.expires_at is not None


def test_role_without_posting_task_is_warned(meta: MetaEnv) -> None:
    meta.state.add_page("104000000000003", "Bagian Umum", tasks=("ANALYZE",))
    found = discover_pages(meta.user_token, meta.settings)
    assert any("Bagian Umum" in w for w in found.warnings)


def test_expiry_warning_window() -> None:
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert expiry_warning(None, now) is None
    assert expiry_warning(now + timedelta(days=8), now) is None
    assert "7 hari" in (expiry_warning(now + timedelta(days=7), now) or "")
    assert "1 hari" in (expiry_warning(now + timedelta(hours=5), now) or "")
    assert "sudah kedaluwarsa" in (expiry_warning(now - timedelta(seconds=1), now) or "")


def test_when_meta_will_not_debug_the_token_it_is_probed(meta: MetaEnv) -> None:
    # Meta may insist on an app token for /debug_token (code 100): validity and kind are then
    # found by asking the token itself.
    meta.state.fail("^debug_token$", code=100, times=4,
                    message="(#100) You must provide an app access token")
    user = discover_pages(meta.user_token, meta.settings)
    assert user.token_type == "USER" and len(user.pages) == 1
    assert any("Access Token Debugger" in w for w in user.warnings)
    page = discover_pages(meta.page_token, meta.settings)
    assert page.token_type == "PAGE" and page.pages[0].page_token == meta.page_token
    health = meta.facebook().check()
    assert health.ok and "tidak dapat dibaca" in health.detail
    meta.state.fail("^debug_token$", code=100)
    meta.state.invalidate(meta.page_token, 460)
    health = meta.facebook().check()
    assert not health.ok and "kata sandi" in health.detail
