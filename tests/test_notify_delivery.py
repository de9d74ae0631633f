"""Email notifications go out through a real SMTP server on 127.0.0.1, once each: escaped,
in the person's language, retried on 4xx, failed with the reason on 5xx, held back on a
refused login, and not lost or doubled when a worker is killed mid-batch."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from publisher.config import ConfigError, Settings
from publisher.models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    Role,
)
from publisher.notify import delivery
from publisher.notify.outbox import notify
from publisher.runtime import Runtime
from publisher.services import items

from .conftest import make_settings
from .factories import Factory
from .notify_kill import kill_then_resume

FROM = "ppid@diskominfo.example"
USERNAME = "ppid-mailer"
PASSWORD = "s3cret-Passw0rd-never-logged"


@dataclass
class Received:
    message_id: str
    to: str
    subject: str
    text: str
    html: str


@dataclass
class Handler:
    """Stores every message; ``end_codes`` / ``rcpt_codes`` are replies to give first."""

    received: list[Received] = field(default_factory=list)
    end_codes: list[str] = field(default_factory=list)
    rcpt_codes: list[str] = field(default_factory=list)
    delay: float = 0.0
    #: The message (1-based) after whose acceptance the 250 reply is held back for
    #: ``hold_seconds``, with ``holding`` set: the sender is waiting for it.
    hold_at: int | None = None
    hold_seconds: float = 3.0
    holding: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.rcpt_codes:
            return self.rcpt_codes.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.end_codes:
            return self.end_codes.pop(0)
        msg = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(msg, EmailMessage)
        plain = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        with self.lock:
            self.received.append(Received(
                str(msg["Message-ID"]), str(msg["To"]), str(msg["Subject"]),
                plain.get_content() if plain else "", html.get_content() if html else ""))
            hold = self.hold_at == len(self.received)
        if self.delay:
            time.sleep(self.delay)  # blocks the server's loop: widens the batch
        if hold:  # accepted, and the sender is left waiting for the reply
            self.holding.set()
            await asyncio.sleep(self.hold_seconds)
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [r.message_id for r in self.received]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Authenticator:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USERNAME.encode()
              and auth_data.password == PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


@pytest.fixture()
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def mail_settings(tmp_path: Path, database_url: str, port: int, **kw: Any) -> Settings:
    values: dict[str, Any] = {"smtp_host": "127.0.0.1", "smtp_port": port,
                              "smtp_security": "none", "smtp_from": FROM, "smtp_timeout": 5}
    values.update(kw)
    return make_settings(tmp_path, database_url, **values)


@pytest.fixture()
def mail_runtime(tmp_path: Path, database_url: str,
                 smtp: tuple[Handler, int]) -> Iterator[Runtime]:
    rt = Runtime(mail_settings(tmp_path, database_url, smtp[1]))
    yield rt
    rt.db.dispose()


def email_rows(runtime: Runtime) -> list[Notification]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(Notification).where(
            Notification.delivery == Delivery.EMAIL).order_by(Notification.id)))
        s.expunge_all()
        return rows


def submitted(make: Factory, runtime: Runtime, title: str, approvers: int = 1,
              **person: Any) -> tuple[int, list[int]]:
    """An editor submits an item: the OPD's approvers get email rows."""
    opd = make.opd("Dinas Kesehatan")
    editor = make.person(Role.EDITOR, opd, email="rina@dinkes.example")
    ids = [make.person(Role.APPROVER, opd, email=f"sari{i}@dinkes.example", **person).user_id
           for i in range(approvers)]
    item = make.item(editor, opd, [make.channel(opd, "site").id], title=title)
    with runtime.db.write() as s:
        items.submit_item(s, editor.principal, runtime.settings, item.id)
    return item.id, ids


def test_submission_email_is_indonesian_escaped_and_linked(
    mail_runtime: Runtime, smtp: tuple[Handler, int]
) -> None:
    handler, _port = smtp
    make = Factory(mail_runtime)
    title = "Jadwal <script>alert(1)</script> *markdown* & Co"
    item_id, _ids = submitted(make, mail_runtime, title)
    assert delivery.send_due_notifications(mail_runtime, "w1") == 1
    (row,) = email_rows(mail_runtime)
    assert row.status == NotificationStatus.SENT and row.sent_at is not None
    (got,) = handler.received
    assert got.message_id == f"<notification-{row.id}@127.0.0.1>"
    assert got.to == "sari0@dinkes.example"
    assert got.subject == f"Menunggu persetujuan: {title}"
    link = f"http://127.0.0.1:5000/admin/informasi/{item_id}#approval"
    assert "mengajukan" in got.text and title in got.text
    assert f"Buka / Open: {link}" in got.text
    assert "<script>" not in got.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *markdown* &amp; Co" in got.html
    assert f'href="{link}"' in got.html and "<br>" in got.html
    # nothing more to send, and the in-app row was never the worker's business
    assert delivery.send_due_notifications(mail_runtime, "w1") == 0
    assert len(handler.received) == 1


def test_451_retries_then_sends(mail_runtime: Runtime, smtp: tuple[Handler, int]) -> None:
    handler, _ = smtp
    handler.end_codes.append("451 4.3.0 Coba lagi nanti")
    submitted(Factory(mail_runtime), mail_runtime, "Laporan keuangan")
    assert delivery.send_due_notifications(mail_runtime, "w1") == 0
    (row,) = email_rows(mail_runtime)
    assert row.status == NotificationStatus.RETRYING and row.attempts == 1
    assert "451" in row.last_error and row.sent_at is None and row.claimed_by is None
    time.sleep(0.6)  # past the (test) retry cap
    assert delivery.send_due_notifications(mail_runtime, "w1") == 1
    (row,) = email_rows(mail_runtime)
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert handler.ids() == [f"<notification-{row.id}@127.0.0.1>"]


def test_550_fails_with_the_reason_and_the_batch_goes_on(
    mail_runtime: Runtime, smtp: tuple[Handler, int]
) -> None:
    handler, _ = smtp
    handler.rcpt_codes.append("550 5.1.1 Mailbox tidak ada")
    submitted(Factory(mail_runtime), mail_runtime, "Pengumuman", approvers=2)
    assert delivery.send_due_notifications(mail_runtime, "w1") == 1
    first, second = email_rows(mail_runtime)
    assert first.status == NotificationStatus.FAILED
    assert "550" in first.last_error and "Mailbox tidak ada" in first.last_error
    assert second.status == NotificationStatus.SENT  # same connection, after RSET
    assert len(handler.received) == 1
    assert delivery.send_due_notifications(mail_runtime, "w1") == 0


def test_refused_login_names_the_settings_never_the_password(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=Authenticator())
    controller.start()
    rt = Runtime(mail_settings(tmp_path, database_url, port, smtp_username=USERNAME,
                               smtp_password="wrong-" + PASSWORD))
    try:
        submitted(Factory(rt), rt, "Rapat", approvers=3)
        caplog.set_level(logging.DEBUG)
        assert delivery.send_due_notifications(rt, "w1") == 0
        rows = email_rows(rt)
        assert [r.status for r in rows] == ["failed", "retrying", "retrying"]
        for row in rows:
            assert "PUBLISHER_SMTP_USERNAME" in row.last_error
            assert "PUBLISHER_SMTP_PASSWORD" in row.last_error
            assert PASSWORD not in row.last_error
        assert [r.attempts for r in rows] == [1, 0, 0]  # the rest were only held back
        assert PASSWORD not in caplog.text and "PUBLISHER_SMTP_USERNAME" in caplog.text
        assert "smtp_password" not in rt.settings.as_dict()
        assert PASSWORD not in repr(rt.settings)
        assert handler.received == []
        # With the right password the held rows go out once their wait is over.
        rt.settings.smtp_password = PASSWORD
        time.sleep(0.6)
        assert delivery.send_due_notifications(rt, "w1") == 2
        assert len(handler.received) == 2
    finally:
        controller.stop()
        rt.db.dispose()


def test_without_smtp_rows_stay_pending(
    runtime: Runtime, make: Factory, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delivery, "_warned_unconfigured", set())
    submitted(make, runtime, "Tanpa SMTP")
    caplog.set_level(logging.WARNING)
    assert delivery.send_due_notifications(runtime, "w1") == 0
    assert delivery.send_due_notifications(runtime, "w1") == 0
    assert caplog.text.count("PUBLISHER_SMTP_HOST is not set") == 1
    (row,) = email_rows(runtime)
    assert row.status == NotificationStatus.PENDING and row.attempts == 0


def test_preference_off_writes_no_email(mail_runtime: Runtime, smtp: tuple[Handler, int]) -> None:
    make = Factory(mail_runtime)
    opd = make.opd()
    editor = make.person(Role.EDITOR, opd, email="rina@dinkes.example")
    quiet = make.person(Role.APPROVER, opd, email="diam@dinkes.example")
    with mail_runtime.db.write() as s:
        s.add(NotificationPreference(user_id=quiet.user_id, kind="item_submitted",
                                     delivery=Delivery.OFF))
    item = make.item(editor, opd, [make.channel(opd, "site").id])
    with mail_runtime.db.write() as s:
        items.submit_item(s, editor.principal, mail_runtime.settings, item.id)
    assert email_rows(mail_runtime) == []
    assert delivery.send_due_notifications(mail_runtime, "w1") == 0
    assert smtp[0].received == []


def test_unreachable_server_retries_the_whole_batch(
    tmp_path: Path, database_url: str
) -> None:
    rt = Runtime(mail_settings(tmp_path, database_url, free_port()))  # nothing listens
    try:
        submitted(Factory(rt), rt, "Tidak terkirim", approvers=2)
        assert delivery.send_due_notifications(rt, "w1") == 0
        rows = email_rows(rt)
        assert [r.status for r in rows] == ["retrying", "retrying"]
        assert [r.attempts for r in rows] == [1, 0]
        assert all("tidak dapat dihubungi" in r.last_error for r in rows)
    finally:
        rt.db.dispose()


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value", "needle"), [
    ("SMTP_PORT", "abc", "PUBLISHER_SMTP_PORT"),
    ("SMTP_PORT", "0", "PUBLISHER_SMTP_PORT"),
    ("SMTP_PORT", "70000", "PUBLISHER_SMTP_PORT"),
    ("SMTP_TIMEOUT", "0", "PUBLISHER_SMTP_TIMEOUT"),
    ("SMTP_TIMEOUT", "301", "PUBLISHER_SMTP_TIMEOUT"),
    ("SMTP_TIMEOUT", "soon", "PUBLISHER_SMTP_TIMEOUT"),
    ("SMTP_SECURITY", "tls", "PUBLISHER_SMTP_SECURITY"),
    ("SMTP_FROM", "not-an-address", "PUBLISHER_SMTP_FROM"),
    ("SMTP_FROM", "PPID <ppid@dinas.go.id>", "PUBLISHER_SMTP_FROM"),
    ("SMTP_HOST", "bad host!", "PUBLISHER_SMTP_HOST"),
    ("SMTP_PASSWORD", PASSWORD, "PUBLISHER_SMTP_USERNAME"),
])
def test_bad_smtp_settings_name_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, value: str, needle: str
) -> None:
    monkeypatch.setenv("PUBLISHER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "smtp.dinas.go.id")
    monkeypatch.setenv("PUBLISHER_SMTP_FROM", FROM)
    monkeypatch.setenv(f"PUBLISHER_{name}", value)
    with pytest.raises(ConfigError, match=needle) as info:
        Settings.from_env()
    assert PASSWORD not in str(info.value)


def test_host_needs_a_sender_address(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "smtp.dinas.go.id")
    with pytest.raises(ConfigError, match="PUBLISHER_SMTP_FROM"):
        Settings.from_env()


def test_smtp_settings_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLISHER_INSTANCE_PATH", str(tmp_path / "instance"))
    assert Settings.from_env().smtp_host is None
    for name, value in {"HOST": "smtp.dinas.go.id", "PORT": "465", "SECURITY": "SSL",
                        "USERNAME": USERNAME, "PASSWORD": PASSWORD, "FROM": FROM,
                        "TIMEOUT": "30"}.items():
        monkeypatch.setenv(f"PUBLISHER_SMTP_{name}", value)
    s = Settings.from_env()
    assert (s.smtp_host, s.smtp_port, s.smtp_security, s.smtp_username, s.smtp_password,
            s.smtp_from, s.smtp_timeout) == ("smtp.dinas.go.id", 465, "ssl", USERNAME,
                                             PASSWORD, FROM, 30.0)
    assert PASSWORD not in repr(s) and PASSWORD not in str(s.as_dict())


# --- a worker killed mid-batch -------------------------------------------------------------


@pytest.mark.slow
def test_worker_killed_mid_batch_sends_each_email_once(
    tmp_path: Path, database_url: str, smtp: tuple[Handler, int]
) -> None:
    """SIGKILL while the worker waits for the server's reply to a message it has sent (the
    moment it cannot know whether the message went out), the rest of its batch claimed; a
    second worker takes the expired leases over. (The microseconds between marking a row sent
    and writing the terminator are the one exception, see publisher.notify.email.)"""
    handler, port = smtp
    handler.delay = 0.005
    handler.hold_at = 30
    settings = make_settings(tmp_path, database_url, lease_seconds=3)
    runtime = Runtime(settings)
    make = Factory(runtime)
    person = make.person(Role.APPROVER, make.opd(), email="sari@dinkes.example")
    n = 200
    with runtime.db.write() as s:
        for i in range(n):
            notify(s, "item_submitted", [person.user_id], event_key=f"bench-{i}",
                   context={"actor": "Rina", "title": f"Informasi {i}", "opd": "Dinkes"},
                   link=f"/admin/informasi/{i}#approval")
    kill_then_resume(runtime, {"PUBLISHER_SMTP_HOST": "127.0.0.1",
                               "PUBLISHER_SMTP_PORT": str(port),
                               "PUBLISHER_SMTP_SECURITY": "none", "PUBLISHER_SMTP_FROM": FROM},
                     Delivery.EMAIL, n, handler.holding, lambda: len(handler.ids()))
    rows = email_rows(runtime)
    assert len(rows) == n and {r.status for r in rows} == {NotificationStatus.SENT}
    counts = Counter(handler.ids())
    expected = {f"<notification-{r.id}@127.0.0.1>" for r in rows}
    assert set(counts) == expected, "an email was lost"
    assert max(counts.values()) == 1, "an email was sent twice"
    runtime.db.dispose()
