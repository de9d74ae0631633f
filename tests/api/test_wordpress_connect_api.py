"""Creating or re-crediting a ``wordpress`` channel through the API connects to the real
WordPress first (``../shared/wordpress``): WordPress's own explanation comes back as a 422
naming the field, and nothing is saved."""

from __future__ import annotations

import socket

import pytest

from publisher.models import Channel

from ..loopback_http import LoopbackServer, send
from ..wordpress_fixture import WordPressSite, wordpress  # noqa: F401
from .conftest import assert_problem, db_state

pytestmark = pytest.mark.wordpress


def _body(site_url: str, user: str, password: str) -> dict:
    return {"opd": "kominfo", "kind": "wordpress", "name": "Situs Kominfo (WordPress)",
            "config": {"url": site_url, "username": user},
            "secrets": {"app_password": password}}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_create_connects_and_stores_the_api_root(api, world, runtime,
                                                 wordpress: WordPressSite) -> None:  # noqa: F811
    status, channel, _ = api.post("/channels", world.approver_a,
                                  _body(wordpress.url + "/", wordpress.user,
                                        wordpress.app_password))
    assert status == 201, channel
    assert channel["config"]["api_root"] == wordpress.url + "/wp-json/"
    assert channel["has_secrets"] is True and "app_password" not in str(channel["config"])
    with runtime.db.read() as s:
        row = s.get(Channel, channel["id"])
        assert runtime.secret_box.decrypt(row.secrets_encrypted)["app_password"] == \
            wordpress.app_password


def test_create_refusals_carry_the_sites_explanation(api, world, runtime,
                                                     wordpress: WordPressSite) -> None:  # noqa: F811
    before = db_state(runtime)
    status, problem, _ = api.post("/channels", world.approver_a,
                                  _body(wordpress.url, wordpress.user, "salah" * 5))
    assert status == 422
    assert_problem(problem, 422, "secrets.app_password")
    assert "application password" in problem["detail"]
    with LoopbackServer() as other:  # answers, but is not WordPress
        other.route("/wp-json/", lambda h: send(h, 200, b"<html>situs lain</html>",
                                               "text/html"))
        other.route("/", lambda h: send(h, 200, b"<html>situs lain</html>", "text/html"))
        status, problem, _ = api.post("/channels", world.approver_a,
                                      _body(other.url(""), wordpress.user,
                                            wordpress.app_password))
    assert status == 422
    assert_problem(problem, 422, "config.url")
    status, problem, _ = api.post("/channels", world.approver_a,
                                  _body(f"http://127.0.0.1:{_closed_port()}", wordpress.user,
                                        wordpress.app_password))
    assert status == 422
    assert_problem(problem, 422, "config.url")
    assert "dihubungi" in problem["detail"]
    # An editor may not add channels: refused before any call to the site.
    status, problem, _ = api.post("/channels", world.editor_a,
                                  _body(wordpress.url, wordpress.user, wordpress.app_password))
    assert status == 403
    assert db_state(runtime) == before


def test_new_credentials_are_checked_before_saving(api, world, runtime,
                                                   wordpress: WordPressSite) -> None:  # noqa: F811
    _, channel, _ = api.post("/channels", world.approver_a,
                             _body(wordpress.url, wordpress.user, wordpress.app_password))
    path = f"/channels/{channel['id']}"
    before = db_state(runtime)
    status, problem, _ = api.patch(path, world.approver_a,
                                   {"secrets": {"app_password": "bukan-sandi-yang-benar"}})
    assert status == 422
    assert_problem(problem, 422, "secrets.app_password")
    status, problem, _ = api.patch(path, world.approver_a,
                                   {"config": {"username": "tidak-ada-pengguna-ini"}})
    assert status == 422
    assert_problem(problem, 422, "secrets.app_password")
    assert db_state(runtime) == before
    status, changed, _ = api.patch(path, world.approver_a,
                                   {"secrets": {"app_password": wordpress.app_password},
                                    "name": "Situs Kominfo"})
    assert status == 200, changed
    assert changed["name"] == "Situs Kominfo"
    assert changed["config"]["api_root"] == wordpress.url + "/wp-json/"
