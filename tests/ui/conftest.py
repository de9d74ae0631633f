"""Helpers for the admin UI tests: a signed-in test client that sends CSRF tokens."""

from __future__ import annotations

import re
from typing import Any

import pytest

from publisher.ui.auth import limiter

from ..factories import PASSWORD

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class UiClient:
    """Flask test client that signs in and adds the CSRF token to every POST."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.token = ""

    def _refresh(self) -> None:
        page = self.client.get("/admin/masuk")
        match = _TOKEN.search(page.get_data(as_text=True))
        assert match, "login page has no CSRF token"
        self.token = match.group(1)

    def login(self, username: str, password: str = PASSWORD) -> Any:
        self._refresh()
        response = self.client.post("/admin/masuk", data={
            "username": username, "password": password, "csrf_token": self.token})
        page = self.client.get("/admin/")
        match = _TOKEN.search(page.get_data(as_text=True))
        if match:
            self.token = match.group(1)
        return response

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def text(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)

    def post(self, path: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.token)
        return self.client.post(path, data=payload, **kw)


@pytest.fixture(autouse=True)
def _fresh_limiter() -> None:
    limiter._failures.clear()


@pytest.fixture()
def ui(client: Any) -> UiClient:
    return UiClient(client)


@pytest.fixture()
def ui2(app: Any) -> UiClient:
    """A second browser (another user)."""
    return UiClient(app.test_client())
