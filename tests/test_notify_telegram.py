"""Telegram notifications through a loopback Bot API server: escaped HTML, once each, 429
waits ``retry_after``, a blocked bot or an unknown chat fails with words a person can act on,
a wrong token holds the batch without leaking it; chats are linked with a one-time code, and
daily digests gather a person's rows into one message."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select, update

from publisher.models import (
    AuditEvent,
    Delivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    Role,
    ServiceState,
    Timing,
    User,
)
from publisher.notify import delivery, digest, telegram_link
from publisher.notify.outbox import next_digest_at, notify
from publisher.notify.telegram import TOKEN_HINT
from publisher.runtime import Runtime
from publisher.timeutil import utcnow

from .conftest import make_settings
from .factories import Factory
from .notify_kill import kill_then_resume
from .telegram_server import BLOCKED, CHAT_NOT_FOUND, TOKEN, BotApi, too_many_requests

CHAT = "-1001234567890"


@pytest.fixture()
def tg_runtime(tmp_path: Path, database_url: str, bot: BotApi) -> Iterator[Runtime]:
    rt = Runtime(make_settings(tmp_path, database_url, telegram_bot_token=TOKEN,
                               telegram_api_url=bot.url, telegram_timeout=5))
    yield rt
    rt.db.dispose()


def _person(make: Factory, runtime: Runtime, chat: str | None = CHAT,
            timing: str = Timing.IMMEDIATE) -> int:
    opd = make.opd("Kecamatan Sukamaju")
    user_id = make.person(Role.APPROVER, opd).user_id
    with runtime.db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(telegram_chat_id=chat))
        s.add(NotificationPreference(user_id=user_id, kind="item_submitted",
                                     delivery=Delivery.TELEGRAM, timing=timing))
    return user_id


def _queue(runtime: Runtime, user_id: int, title: str, n: int = 1) -> None:
    with runtime.db.write() as s:
        for i in range(n):
            notify(s, "item_submitted", [user_id], event_key=f"t-{title}-{i}",
                   context={"actor": "Rina", "title": title, "opd": "Kecamatan Sukamaju"},
                   link="/admin/informasi/7#approval")


def _rows(runtime: Runtime) -> list[Notification]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(Notification).where(
            Notification.delivery == Delivery.TELEGRAM).order_by(Notification.id)))
        s.expunge_all()
        return rows


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def test_message_is_escaped_html_sent_once(tg_runtime: Runtime, make: Factory,
                                           bot: BotApi) -> None:
    user_id = _person(make, tg_runtime)
    hostile = '<script>alert(1)</script> *tebal* _miring_ [klik](http://evil.example) & "x"'
    _queue(tg_runtime, user_id, hostile)
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 1
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 0
    (sent,) = bot.sent
    assert sent["chat_id"] == CHAT and sent["parse_mode"] == "HTML"
    text = sent["text"]
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&amp;" in text and "&quot;x&quot;" in text
    parser = _Tags()
    parser.feed(text)
    assert set(parser.tags) <= {"b", "a"}  # only the tags we put there
    assert 'href="http://127.0.0.1' in text and "/admin/informasi/7#approval" in text
    assert "Menunggu persetujuan" in text
    (row,) = _rows(tg_runtime)
    assert row.status == NotificationStatus.SENT and row.attempts == 1


def test_429_waits_retry_after_then_sends(tg_runtime: Runtime, make: Factory,
                                          bot: BotApi) -> None:
    _queue(tg_runtime, _person(make, tg_runtime), "Jadwal posyandu")
    bot.errors.append(too_many_requests(7))
    before = utcnow()
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 0
    (row,) = _rows(tg_runtime)
    assert row.status == NotificationStatus.RETRYING and row.attempts == 0  # refunded
    assert "retry after 7" in row.last_error
    assert timedelta(seconds=6) <= row.due_at - before <= timedelta(seconds=9)
    with tg_runtime.db.write() as s:
        s.execute(update(Notification).values(due_at=utcnow()))
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 1
    assert len(bot.sent) == 1


@pytest.mark.parametrize(("answer", "words"), [(BLOCKED, "Bot diblokir"),
                                                (CHAT_NOT_FOUND, "Chat Telegram tidak ditemukan")])
def test_blocked_bot_and_unknown_chat_fail_with_the_reason(
    tg_runtime: Runtime, make: Factory, bot: BotApi, answer: tuple[int, dict], words: str,
) -> None:
    _queue(tg_runtime, _person(make, tg_runtime), "Pengumuman", n=2)
    bot.errors.append(answer)
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 1
    first, second = _rows(tg_runtime)
    assert first.status == NotificationStatus.FAILED and words in first.last_error
    assert "Pengaturan notifikasi" in first.last_error
    assert second.status == NotificationStatus.SENT  # one bad answer does not stop the batch


def test_wrong_token_holds_the_batch_and_never_shows_the_token(
    tmp_path: Path, database_url: str, make: Factory, bot: BotApi,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "987654321:ZZZwrongTokenNeverToBeLogged_12345"
    bot.refuse_token(wrong)
    rt = Runtime(make_settings(tmp_path, database_url, telegram_bot_token=wrong,
                               telegram_api_url=bot.url, telegram_timeout=5))
    try:
        other = Factory(rt)
        _queue(rt, _person(other, rt), "Rapat", n=3)
        caplog.set_level(logging.DEBUG)
        assert delivery.send_due_notifications(rt, "w1", delivery=Delivery.TELEGRAM) == 0
        rows = _rows(rt)
        assert rows[0].status == NotificationStatus.FAILED and rows[0].last_error == TOKEN_HINT
        assert [r.status for r in rows[1:]] == [NotificationStatus.RETRYING] * 2
        assert all(r.attempts == 0 for r in rows[1:])  # put back without using an attempt
        assert wrong not in caplog.text and all(wrong not in r.last_error for r in rows)
    finally:
        rt.db.dispose()


def test_without_a_token_rows_stay_pending(runtime: Runtime, make: Factory) -> None:
    _queue(runtime, _person(make, runtime), "Tanpa bot")
    assert delivery.send_due_notifications(runtime, "w1", delivery=Delivery.TELEGRAM) == 0
    (row,) = _rows(runtime)
    assert row.status == NotificationStatus.PENDING and row.attempts == 0


def test_no_linked_chat_means_in_app_only(tg_runtime: Runtime, make: Factory) -> None:
    user_id = _person(make, tg_runtime, chat=None)
    _queue(tg_runtime, user_id, "Tanpa chat")
    assert _rows(tg_runtime) == []
    with tg_runtime.db.read() as s:
        deliveries = s.scalars(select(Notification.delivery).where(
            Notification.user_id == user_id)).all()
    assert deliveries == [Delivery.INAPP]


def test_chat_linked_with_a_one_time_code(tg_runtime: Runtime, make: Factory,
                                          bot: BotApi) -> None:
    user_id = _person(make, tg_runtime, chat=None)
    with tg_runtime.db.write() as s:
        code = telegram_link.new_code(s, user_id)
    group = {"id": -100777, "type": "group", "title": "PPID Kecamatan Sukamaju"}
    bot.message(group, f"/start@ppid_kab_bot {code}")
    bot.message({"id": 555, "type": "private", "first_name": "Iseng"}, f"/start {code}")
    bot.message({"id": 556, "type": "private", "first_name": "Lain"}, "halo")
    assert telegram_link.poll_updates(tg_runtime) == 1
    with tg_runtime.db.read() as s:
        user = s.get_one(User, user_id)
        assert (user.telegram_chat_id, user.telegram_chat_title) == (
            "-100777", "PPID Kecamatan Sukamaju")
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "user.telegram_linked" in actions
    replies = {m["chat_id"]: m["text"] for m in bot.sent}
    assert replies[-100777].startswith("Terhubung")
    assert "tidak dikenal" in replies[555]  # the code works once
    assert 556 not in replies
    bot.sent.clear()
    assert telegram_link.poll_updates(tg_runtime) == 0  # the offset moved on
    assert bot.sent == []


def test_expired_code_does_not_link(tg_runtime: Runtime, make: Factory, bot: BotApi) -> None:
    user_id = _person(make, tg_runtime, chat=None)
    with tg_runtime.db.write() as s:
        code = telegram_link.new_code(s, user_id)
        s.flush()
        from publisher.models import TelegramLinkCode
        s.execute(update(TelegramLinkCode).values(expires_at=utcnow() - timedelta(minutes=1)))
    bot.message({"id": 42, "type": "private", "first_name": "Sari"}, f"/start {code}")
    assert telegram_link.poll_updates(tg_runtime) == 0
    with tg_runtime.db.read() as s:
        assert s.get_one(User, user_id).telegram_chat_id is None


def test_one_worker_reads_the_updates_at_a_time(tg_runtime: Runtime, make: Factory,
                                              bot: BotApi) -> None:
    user_id = _person(make, tg_runtime, chat=None)
    with tg_runtime.db.write() as s:
        code = telegram_link.new_code(s, user_id)
    bot.message({"id": 88, "type": "private", "first_name": "Sari"}, f"/start {code}")
    with tg_runtime.db.write() as s:  # another worker is polling right now
        s.add(ServiceState(name="telegram.poll_turn", value="",
                           updated_at=utcnow() + timedelta(seconds=20)))
    assert telegram_link.poll_updates(tg_runtime) == 0
    assert not any("getUpdates" in r["path"] for r in bot.server.requests)
    with tg_runtime.db.write() as s:  # its lease ran out (it died mid-poll)
        s.execute(update(ServiceState).where(ServiceState.name == "telegram.poll_turn")
                  .values(updated_at=utcnow() - timedelta(seconds=1)))
    assert telegram_link.poll_updates(tg_runtime) == 1
    assert [m["text"].split(":")[0] for m in bot.sent] == ["Terhubung"]
    assert telegram_link.poll_updates(tg_runtime) == 0  # released: the next poll runs
    assert sum("getUpdates" in r["path"] for r in bot.server.requests) == 2


def test_the_bot_answers_in_the_persons_language(tg_runtime: Runtime, make: Factory,
                                                bot: BotApi) -> None:
    user_id = _person(make, tg_runtime, chat=None)
    with tg_runtime.db.write() as s:
        s.execute(update(User).where(User.id == user_id).values(locale="en"))
        code = telegram_link.new_code(s, user_id)
    bot.message({"id": 77, "type": "private", "first_name": "Sari"}, f"/start {code}")
    assert telegram_link.poll_updates(tg_runtime) == 1
    (reply,) = bot.sent
    assert reply["text"].startswith("Linked: OPD Publisher notifications for ")


def test_daily_digest_gathers_rows_into_one_message(tg_runtime: Runtime, make: Factory,
                                                    bot: BotApi) -> None:
    user_id = _person(make, tg_runtime, timing=Timing.DIGEST)
    _queue(tg_runtime, user_id, "Laporan keuangan", n=3)
    rows = _rows(tg_runtime)
    assert [r.status for r in rows] == [NotificationStatus.DIGEST] * 3
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 0
    assert digest.gather_due_digests(tg_runtime) == 0  # not yet the person's hour
    with tg_runtime.db.write() as s:
        s.execute(update(Notification).where(Notification.status == NotificationStatus.DIGEST)
                  .values(due_at=utcnow() - timedelta(seconds=1)))
    assert digest.gather_due_digests(tg_runtime) == 1
    assert digest.gather_due_digests(tg_runtime) == 0  # each row gathered once
    assert delivery.send_due_notifications(tg_runtime, "w1", delivery=Delivery.TELEGRAM) == 1
    (sent,) = bot.sent
    assert "Ringkasan harian: 3 notifikasi" in sent["text"]
    assert sent["text"].count("Laporan keuangan") == 3
    parts = _rows(tg_runtime)
    carrier = next(r for r in parts if r.kind == "digest")
    assert all(r.digest_id == carrier.id for r in parts if r.kind != "digest")


def test_next_digest_is_the_hour_in_the_persons_zone() -> None:
    now = datetime(2026, 12, 3, 1, 30, tzinfo=UTC)  # 08.30 WIB, 09.30 WITA
    assert next_digest_at(now, 7, "Asia/Jakarta") == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)
    assert next_digest_at(now, 10, "Asia/Makassar") == datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


# --- a worker killed mid-batch -------------------------------------------------------------


@pytest.mark.slow
def test_worker_killed_mid_batch_sends_each_telegram_message_once(
        tmp_path: Path, database_url: str, bot: BotApi) -> None:
    """SIGKILL while the worker waits for Telegram's answer to a message it has sent (the
    moment it cannot know whether the message went out), the rest of its batch claimed; a
    second worker takes the expired leases over. (The microseconds between marking a row sent
    and writing the request's last byte are the one exception, see publisher.notify.telegram.)
    """
    bot.delay = 0.005
    bot.hold_at, bot.hold_seconds = 30, 3.0
    runtime = Runtime(make_settings(tmp_path, database_url, lease_seconds=3))
    make = Factory(runtime)
    user_id = _person(make, runtime)
    n = 200
    with runtime.db.write() as s:
        for i in range(n):
            notify(s, "item_submitted", [user_id], event_key=f"kill-{i}",
                   context={"actor": "Rina", "title": f"Informasi nomor {i}",
                            "opd": "Kecamatan Sukamaju"}, link=f"/admin/informasi/{i}")
    try:
        kill_then_resume(runtime, {"PUBLISHER_TELEGRAM_BOT_TOKEN": TOKEN,
                                   "PUBLISHER_TELEGRAM_API_URL": bot.url},
                         Delivery.TELEGRAM, n, bot.holding, lambda: len(bot.sent))
    finally:
        runtime.db.dispose()
    titles = Counter(
        next(line for line in m["text"].splitlines() if "Informasi nomor" in line)
        for m in bot.sent)
    assert len(titles) == n, "a message was lost"
    assert max(titles.values()) == 1, "a message was sent twice"
    assert {m["chat_id"] for m in bot.sent} == {CHAT}
