"""Every ``next`` goes through one check: known open-redirect tricks land on the default page
(never another host, never a 500), paths on this site are followed. Through the real sign-in
and language-switch endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from publisher.ui.auth import limiter

from .factories import PASSWORD
from .ui.conftest import UiClient

DEFAULT = "/admin/"

#: Values as the view receives them (Werkzeug has URL-decoded them once).
REFUSED = [
    "//evil.example",
    "///evil.example",
    "////evil.example/admin/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",  # /%09/evil.example: browsers drop the tab
    "/\n/evil.example",
    "/\r/evil.example",
    "/\r\nSet-Cookie:x=1",  # /%0d%0aSet-Cookie:x=1 (header injection, used to be a 500)
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\u2028/evil.example",
    "/\u00a0/evil.example",
    " //evil.example",
    "\t//evil.example",
    "\x01//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://evil.example",
    "https:evil.example",
    "https://evil.example/admin/",
    "http://localhost/admin/",  # even this host: only relative paths
    "evil.example",
    "admin/antrean",
    "/%09/evil.example",  # arrives encoded twice: decoded once more, it is a tab
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/%0d%0aSet-Cookie:x=1",
    "/" + "a" * 2001,
]

FOLLOWED = [
    "/admin/antrean",
    "/admin/antrean?status=failed&page=2",
    "/admin/antrean?q=a%20b",
    "/.//evil.example",  # a path on this site: //evil.example is its path, not its host
    "/admin/item/5#riwayat",
]


def _location(response: Any) -> str:
    assert response.status_code == 302, response.status_code
    return str(response.headers["Location"])


@pytest.fixture()
def ui(client: Any) -> UiClient:
    limiter._failures.clear()
    return UiClient(client)


@pytest.fixture()
def signed_out(ui: UiClient, make: Any) -> UiClient:
    make.person("editor", make.opd(), username="operator")
    ui._refresh()
    return ui


def _sign_in(ui: UiClient, value: str, via: str) -> Any:
    form = {"username": "operator", "password": PASSWORD}
    if via == "form":
        return ui.post("/admin/masuk", {**form, "next": value})
    return ui.post("/admin/masuk", form, query_string={"next": value})


@pytest.mark.parametrize("via", ["form", "query"])
@pytest.mark.parametrize("value", REFUSED)
def test_sign_in_refuses_tricks(signed_out: UiClient, value: str, via: str) -> None:
    assert _location(_sign_in(signed_out, value, via)) == DEFAULT
    assert signed_out.get("/admin/").status_code == 200  # signed in all the same


@pytest.mark.parametrize("value", FOLLOWED)
def test_sign_in_follows_paths_on_this_site(signed_out: UiClient, value: str) -> None:
    assert _location(_sign_in(signed_out, value, "form")) == value


@pytest.mark.parametrize("value", REFUSED)
def test_language_switch_refuses_tricks(ui: UiClient, value: str) -> None:
    ui._refresh()
    assert _location(ui.post("/admin/bahasa", {"locale": "en", "next": value})) == DEFAULT


@pytest.mark.parametrize("value", FOLLOWED)
def test_language_switch_follows_paths_on_this_site(ui: UiClient, value: str) -> None:
    ui._refresh()
    assert _location(ui.post("/admin/bahasa", {"locale": "en", "next": value})) == value


def test_raw_tab_in_the_query_string_is_refused(signed_out: UiClient) -> None:
    """The issue's case exactly as a browser sends it: ``next=/%09/evil.example``."""
    form = {"username": "operator", "password": PASSWORD, "csrf_token": signed_out.token}
    response = signed_out.client.post("/admin/masuk?next=/%09/evil.example", data=form)
    assert _location(response) == DEFAULT


def test_next_survives_the_sign_in_page_only_when_safe(signed_out: UiClient) -> None:
    to_queue = signed_out.get("/admin/antrean")
    login_url = _location(to_queue)
    page = signed_out.text(login_url)
    assert 'name="next" value="/admin/antrean"' in page
    assert 'value="//evil.example"' not in signed_out.text("/admin/masuk?next=//evil.example")
    failed = signed_out.post("/admin/masuk", {"username": "operator", "password": "salah-123456",
                                              "next": "/admin/antrean"})
    assert failed.status_code == 401
    assert 'name="next" value="/admin/antrean"' in failed.get_data(as_text=True)
    assert _location(_sign_in(signed_out, "/admin/antrean", "form")) == "/admin/antrean"
