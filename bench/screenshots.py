"""Screenshots of the admin UI for docs/ui.md, at desktop (1280 px) and phone (360 px) widths.

    .venv/bin/python -m bench.screenshots [--out docs/screenshots]

Seeds a small realistic instance (two OPDs, eight weeks of published items, something waiting
for approval, one failed webhook delivery), serves it on 127.0.0.1 and drives Debian's
Chromium with Playwright (``apt-get install -y chromium``).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select
from werkzeug.serving import make_server

from publisher.access import Principal
from publisher.app import create_app
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import User
from publisher.queue.dispatcher import Dispatcher
from publisher.runtime import Runtime
from publisher.scheduler import Worker
from publisher.services import items
from publisher.timeutil import to_local, utcnow

from ._ui_seed import PASSWORD, seed_items, seed_people_and_channels

PAGES = ("dashboard", "compose", "calendar", "queue", "register")
WIDTHS = {"desktop": 1280, "phone": 360}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


class _Receiver(BaseHTTPRequestHandler):
    """A CMS on loopback that refuses posts about a tender (to show a failure)."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        refused = b"lelang" in body.lower()
        answer = (json.dumps({"message": "kolom kategori wajib diisi"}) if refused else "{}")
        self.send_response(400 if refused else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _seed(runtime: Runtime, hook_url: str) -> None:
    seeded = seed_people_and_channels(runtime, 2, webhook_url=hook_url, extra_channels=1)
    seed_items(runtime, seeded, 90, 150, days_back=56, days_ahead=7, audit_events=False)
    opd_id = seeded.opd_ids[0]
    site, hook = seeded.channel_ids[opd_id]
    settings = runtime.settings
    with runtime.db.write() as s:
        operator = Principal.of(s.scalars(select(User).where(User.username == "operator1")).one())
        approver = Principal.of(s.scalars(select(User).where(User.username == "ppid1")).one())
        waiting = items.create_item(s, operator, settings, opd_id, {
            "title": "Rencana Kerja Dinas Kominfo 2027", "category": "berkala",
            "body_html": "<p>Rencana kerja tahunan dinas.</p>",
            "summary": "Rencana kerja tahunan"}, channel_ids=[site, hook], source="ui")
        items.submit_item(s, operator, settings, waiting.id)
        tender = items.create_item(s, operator, settings, opd_id, {
            "title": "Pengumuman Lelang Pengadaan Jaringan", "category": "setiap_saat",
            "body_html": "<p>Lelang pengadaan jaringan intranet.</p>",
            "summary": "Lelang jaringan"}, channel_ids=[hook], source="ui")
        items.submit_item(s, operator, settings, tender.id)
        items.approve_item(s, approver, settings, tender.id, "Lanjut")
    Dispatcher(runtime, "screenshots").drain()


def _full(name: str, label: str) -> bool:
    """Whole page for the short desktop pages; the first screen for long lists and phones."""
    return label == "desktop" and name in ("dashboard", "compose", "calendar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    executable = shutil.which("chromium")
    if executable is None:
        raise SystemExit("Chromium not found: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="ui-shots-"))
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda e, s: holder["app"](e, s), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    url = f"sqlite:///{tmp / 'publisher.db'}"
    upgrade(Database(url))
    settings = Settings(instance_path=tmp / "instance", database_url=url,
                        secret_key="screenshots-secret-key", public_base_url=base,
                        allow_loopback=True)
    settings.finish()
    runtime = Runtime(settings)
    _seed(runtime, f"http://127.0.0.1:{receiver.server_port}/hook")
    holder["app"] = create_app(runtime=runtime)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker = Worker(runtime, "screenshots")  # the dashboard warns when no worker runs
    worker.start()
    args.out.mkdir(parents=True, exist_ok=True)
    week = to_local(utcnow() + timedelta(days=2), "Asia/Jakarta").date().isoformat()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=ARGS)
        for label, width in WIDTHS.items():
            context = browser.new_context(viewport={"width": width, "height": 900},
                                          locale="id-ID", device_scale_factor=1)
            page = context.new_page()
            page.goto(base + "/admin/masuk")
            page.get_by_label("Nama pengguna").fill("ppid1")
            page.get_by_label("Kata sandi").fill(PASSWORD)
            page.get_by_role("button", name="Masuk").click()
            page.wait_for_url(base + "/admin/")
            shots = {
                "dashboard": "/admin/",
                "calendar": f"/admin/kalender?date={week}",
                "queue": "/admin/antrean",
                "register": "/admin/register",
            }
            for name, path in shots.items():
                page.goto(base + path)
                page.screenshot(path=str(args.out / f"{name}-{label}.png"),
                                full_page=_full(name, label))
            page.goto(base + "/admin/tulis")
            page.get_by_label("Judul").fill("Jadwal Posyandu Desa Firdaus Desember 2026")
            page.get_by_label("Isi", exact=True).fill(
                "Posyandu **Desa Firdaus** dibuka setiap Senin pukul 08.00 WIB.\n\n"
                "- Penimbangan balita\n- Imunisasi dasar\n- Konsultasi gizi")
            page.get_by_label("Situs OPD").check()
            page.get_by_label("CMS OPD").check()
            page.locator("#previews .preview").nth(1).wait_for()
            page.wait_for_timeout(300)
            if label == "phone":
                page.locator("#targets").scroll_into_view_if_needed()
            page.screenshot(path=str(args.out / f"compose-{label}.png"),
                            full_page=_full("compose", label))
            context.close()
        browser.close()
    worker.stop(5)
    server.shutdown()
    receiver.shutdown()
    runtime.db.dispose()
    print("\n".join(sorted(str(p) for p in args.out.glob("*.png"))))


if __name__ == "__main__":
    main()
