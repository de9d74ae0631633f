"""Email notifications through the real SMTP path: rate and the sender's peak memory.

    .venv/bin/python bench/notify_smtp.py [--count 10000] [--batch 100] [--database-url URL]

Seeds ``--count`` email notifications (through :func:`publisher.notify.outbox.notify`, one
event each, for one person) in a fresh SQLite database (or a PostgreSQL URL, whose tables
must be empty), starts an aiosmtpd server on 127.0.0.1 in this process, and sends them from a
child process with the worker's own code (:func:`publisher.notify.delivery.
send_due_notifications`: claim a batch, one SMTP connection per batch, mark-sent before each
terminator). It prints messages per second as the child measured them, and the child's peak
resident memory (its own high-water mark, ``VmHWM``: ``ru_maxrss`` would count pages shared
with this seeding process before ``exec``).
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _peak
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import Role
from publisher.notify.outbox import notify
from publisher.runtime import Runtime
from publisher.services import admin

SECRET = "bench-secret-key-not-for-production"
FROM = "ppid@diskominfo.example"

# The sender, in a child: drains every due email notification, then reports.
_SENDER = _peak.PRELUDE + """
import time
from publisher.config import Settings
from publisher.notify.delivery import send_due_notifications
from publisher.runtime import Runtime
count, batch = int(sys.argv[1]), int(sys.argv[2])
runtime = Runtime(Settings.from_env())
started = time.perf_counter()
sent = idle = 0
while sent < count and idle < 3:
    done = send_due_notifications(runtime, "bench-sender", batch)
    sent += done
    idle = 0 if done else idle + 1
print(f"sent {sent} {time.perf_counter() - started:.6f}")
runtime.db.dispose()
"""


class Counting:
    """An SMTP handler that only counts the messages it accepts."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(rt: Runtime, count: int) -> None:
    with rt.db.write() as s:
        opd = admin.create_opd(s, None, "Dinas Kesehatan")
        s.flush()
        user = admin.create_user(s, None, "bench-approver", "bench-password-123",
                                 roles=[(Role.APPROVER, opd.id)], email="sari@dinkes.example")
        s.flush()
        user_id = user.id
    for start in range(0, count, 1000):
        with rt.db.write() as s:
            for i in range(start, min(count, start + 1000)):
                notify(s, "item_submitted", [user_id], event_key=f"bench-{i}",
                       context={"actor": "Rina", "title": f"Informasi <b>{i}</b>",
                                "opd": "Dinas Kesehatan"},
                       link=f"/admin/informasi/{i}#approval")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publisher-notify-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'n.db'}"
        settings = Settings(instance_path=workdir, database_url=url, secret_key=SECRET)
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        rt = Runtime(settings, db)
        started = time.perf_counter()
        seed(rt, args.count)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
              f"Python {platform.python_version()}, database {db.dialect}")
        print(f"seeded {args.count:,} email notifications in "
              f"{time.perf_counter() - started:.1f} s")
        handler = Counting()
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        env = {**os.environ, "PUBLISHER_DATABASE_URL": settings.database_url,
               "PUBLISHER_SECRET_KEY": SECRET, "PUBLISHER_INSTANCE_PATH": str(workdir),
               "PUBLISHER_LOG_LEVEL": "WARNING", "PUBLISHER_SMTP_HOST": "127.0.0.1",
               "PUBLISHER_SMTP_PORT": str(port), "PUBLISHER_SMTP_SECURITY": "none",
               "PUBLISHER_SMTP_FROM": FROM}
        try:
            done = subprocess.run([sys.executable, "-c", _SENDER, str(args.count),
                                   str(args.batch)], env=env, capture_output=True, text=True,
                                  check=False)
        finally:
            controller.stop()
            db.dispose()
        if done.returncode != 0:
            raise SystemExit(f"sender failed ({done.returncode}):\n{done.stderr[-2000:]}")
        _, sent, seconds = done.stdout.split()[-3:]
        peak_mb = _peak.peak_mb(done.stderr)
        rate = int(sent) / float(seconds)
        print(f"sent {int(sent):,} emails in {float(seconds):.1f} s: {rate:,.0f} messages/s "
              f"(batch {args.batch}); server received {handler.count:,}; "
              f"sender peak RSS (VmHWM) {peak_mb:.0f} MB")
        if handler.count != args.count or int(sent) != args.count:
            raise SystemExit("not every notification arrived exactly once")


if __name__ == "__main__":
    main()
