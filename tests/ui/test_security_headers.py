"""Security headers on admin, API and site answers, and private files in the instance
folder (issue 13, item 7)."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from publisher.app import create_app
from publisher.config import Settings
from publisher.runtime import Runtime

from ..conftest import make_settings
from ..factories import Factory
from .conftest import UiClient

ADMIN_PAGES = ("/admin/", "/admin/tulis", "/admin/antrean", "/admin/kalender",
               "/admin/persetujuan", "/admin/saluran", "/admin/sumber-feed",
               "/admin/sumber-feed/baru", "/admin/register", "/admin/audit", "/admin/pengguna",
               "/admin/akun")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.I)


def _csp(response: Any) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_admin_pages_refuse_framing_caching_and_inline_code(ui: UiClient, make: Factory) -> None:
    make.opd("Dinas Uji Header")
    ui.login(make.admin().username)
    for path in ADMIN_PAGES:
        response = ui.get(path)
        assert response.status_code == 200, path
        csp = _csp(response)
        assert csp["script-src"] == "script-src 'self'", path
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
        assert csp["frame-ancestors"] == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        html = response.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_HANDLER.search(html), path
        assert not STYLE_ATTRIBUTE.search(html), path
        assert "Strict-Transport-Security" not in response.headers  # base URL is http


def test_api_answers_are_never_stored(client: Any, make: Factory) -> None:
    token = make.admin().auth
    for response in (client.get("/api/v1/items", headers=token), client.get("/api/v1/items")):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_site_pages_run_no_script_and_cannot_be_framed(client: Any, make: Factory) -> None:
    opd = make.opd("Dinas Situs", slug="dinas-situs")
    for path in ("/", f"/o/{opd.slug}/", "/o/tidak-ada/"):
        response = client.get(path)
        csp = _csp(response)
        assert csp["script-src"] == "script-src 'none'", path
        assert csp["frame-ancestors"] == "frame-ancestors 'none'", path
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_hsts_only_when_the_public_base_url_is_https(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url, public_base_url="https://opd.example.go.id")
    runtime = Runtime(settings)
    try:
        client = create_app(runtime=runtime, test_config={"TESTING": True}).test_client()
        for path in ("/", "/admin/masuk", "/api/v1/items"):
            assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"
    finally:
        runtime.db.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_instance_files_are_private(tmp_path: Path, database_url: str) -> None:
    from publisher import checkpoints

    settings = Settings(instance_path=tmp_path / "fresh" / "instance", database_url="",
                        secret_key="", public_base_url="http://127.0.0.1:5000")
    settings.finish()
    runtime = Runtime(settings)
    try:
        with runtime.db.engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
        checkpoints.signing_key(settings)
    finally:
        runtime.db.dispose()
    instance = settings.instance_path
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    for name in ("publisher.db", "secret_key", checkpoints.KEY_FILE):
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_old_readable_secret_key_is_tightened(tmp_path: Path, database_url: str) -> None:
    instance = tmp_path / "old"
    instance.mkdir()
    (instance / "secret_key").write_text("kunci-lama-yang-cukup-panjang-untuk-uji")
    (instance / "secret_key").chmod(0o644)
    settings = Settings(instance_path=instance, database_url="sqlite://", secret_key="",
                        public_base_url="http://127.0.0.1:5000")
    settings.finish()
    assert settings.secret_key == "kunci-lama-yang-cukup-panjang-untuk-uji"
    assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
