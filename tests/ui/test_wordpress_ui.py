"""Saluran in the admin UI with the real WordPress (``../shared/wordpress``): a new application
password is checked with the site before it replaces the stored one."""

from __future__ import annotations

import html

import pytest

from publisher.models import Channel

from ..loopback_http import LoopbackServer
from ..wordpress_fixture import WordPressSite, wordpress  # noqa: F401


def _secret(runtime, channel_id: int) -> str:
    with runtime.db.read() as s:
        row = s.get_one(Channel, channel_id)
        return str(runtime.secret_box.decrypt(row.secrets_encrypted)["app_password"])


@pytest.mark.wordpress
def test_new_credentials_are_checked_with_the_site(ui, make, runtime,
                                                   wordpress: WordPressSite) -> None:  # noqa: F811
    opd = make.opd("Dinas Kominfo")
    make.person("approver", opd, username="ppid")
    ui.login("ppid")
    fields = {"cfg_url": wordpress.url, "cfg_username": wordpress.user}
    response = ui.post("/admin/saluran", {"kind": "wordpress", "opd": str(opd.id),
                                          "name": "Situs WP", **fields,
                                          "cfg_app_password": wordpress.app_password})
    assert response.status_code == 302, response.get_data(as_text=True)
    path = response.headers["Location"].removeprefix("http://localhost")
    channel_id = int(path.rsplit("/", 1)[-1])

    refused = ui.post(path, {"name": "Situs WP", **fields,
                             "cfg_app_password": "sandi-aplikasi-yang-salah"},
                      follow_redirects=True)
    page = html.unescape(refused.get_data(as_text=True))
    assert 'class="flash error"' in page and "application password" in page
    assert "sandi-aplikasi-yang-salah" not in page
    assert _secret(runtime, channel_id) == wordpress.app_password

    # Only the name changes: nothing to check with the site, saved as is.
    renamed = ui.post(path, {"name": "Situs Kominfo", **fields}, follow_redirects=True)
    assert "Saluran disimpan." in renamed.get_data(as_text=True)
    with runtime.db.read() as s:
        row = s.get_one(Channel, channel_id)
        assert row.name == "Situs Kominfo"
        assert row.config["api_root"] == wordpress.url + "/wp-json/"


def test_an_editor_cannot_make_the_server_call_a_site(ui, make) -> None:
    opd = make.opd("Dinas Kominfo")
    make.person("editor", opd, username="operator")
    ui.login("operator")
    with LoopbackServer() as server:
        response = ui.post("/admin/saluran", {
            "kind": "wordpress", "opd": str(opd.id), "name": "Situs WP",
            "cfg_url": server.url("/"), "cfg_username": "editor",
            "cfg_app_password": "abcd efgh ijkl mnop qrst uvwx"}, follow_redirects=True)
        assert server.requests == []  # refused before any call
    assert "Hanya PPID Pelaksana" in response.get_data(as_text=True)
