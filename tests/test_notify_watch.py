"""The hourly checks (publisher.notify.watch): each kind is written once per event however
often the job runs, and each escalation to the PPID Utama fires once per rule and subject,
audited, respecting the rules' thresholds and switches."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from publisher import audit
from publisher.models import (
    AuditEvent,
    Channel,
    ChannelStatus,
    EscalationSent,
    Item,
    Notification,
    Publication,
    PublicationStatus,
    Role,
    User,
)
from publisher.notify import escalation, watch
from publisher.register import long_date
from publisher.services import items
from publisher.services.errors import Forbidden, Invalid
from publisher.timeutil import utcnow

from .dik_support import Office, in_force
from .factories import Factory

WORKER = "watch-worker-1"


def _rows(runtime: Any, kind: str) -> list[Notification]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(Notification).where(Notification.kind == kind)
                              .order_by(Notification.id)))
        s.expunge_all()
        return rows


def _inapp(runtime: Any, kind: str) -> set[tuple[int, int | None]]:
    """(user, opd) of the in-app rows of ``kind``."""
    return {(r.user_id, r.opd_id) for r in _rows(runtime, kind) if r.delivery == "inapp"}


def _escalation_events(runtime: Any) -> list[AuditEvent]:
    with runtime.db.read() as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "escalation.sent")
                              .order_by(AuditEvent.seq)))
        s.expunge_all()
        return rows


def _sent(runtime: Any) -> list[tuple[str, str]]:
    with runtime.db.read() as s:
        return [(r.rule, r.subject_key) for r in s.scalars(
            select(EscalationSent).order_by(EscalationSent.id))]


class World:
    def __init__(self, make: Factory, runtime: Any) -> None:
        self.make, self.runtime = make, runtime
        self.opd = make.opd("Dinas Kesehatan")
        self.editor = make.person(Role.EDITOR, self.opd, email="rina@dinkes.example")
        self.approver = make.person(Role.APPROVER, self.opd, email="sari@dinkes.example")
        self.admin = make.admin()
        self.other = make.opd("Dinas Pendidikan")
        self.outsider = make.person(Role.APPROVER, self.other)
        self.site = make.channel(self.opd, "site", "Situs Dinkes")

    def set_channel(self, channel_id: int, **values: Any) -> None:
        with self.runtime.db.write() as s:
            s.execute(update(Channel).where(Channel.id == channel_id).values(**values))

    def berkala(self, title: str, stale_days: int) -> Item:
        item = self.make.published_item(self.editor, self.approver, self.opd, [self.site.id],
                                        title=title)
        with self.runtime.db.write() as s:
            s.execute(update(Item).where(Item.id == item.id)
                      .values(updated_at=utcnow() - timedelta(days=stale_days)))
        return item

    def waiting(self, title: str, hours: float) -> Item:
        item = self.make.item(self.editor, self.opd, [self.site.id], title=title)
        with self.runtime.db.write() as s:
            items.submit_item(s, self.editor.principal, self.runtime.settings, item.id)
        with self.runtime.db.write() as s:
            s.execute(update(Item).where(Item.id == item.id)
                      .values(submitted_at=utcnow() - timedelta(hours=hours)))
        return item

    def run(self, now: datetime | None = None, worker: str = WORKER) -> watch.WatchResult:
        return watch.run(self.runtime, worker, now)


@pytest.fixture()
def world(make: Factory, runtime: Any) -> World:
    return World(make, runtime)


def test_token_expiring_once_per_channel_and_date(world: World) -> None:
    now = utcnow()
    soon = world.make.channel(world.opd, "site", "Halaman Facebook Dinkes")
    later = world.make.channel(world.opd, "site", "Instagram Dinkes")
    world.set_channel(soon.id, kind="facebook", credential_expires_at=now + timedelta(days=3))
    world.set_channel(later.id, kind="instagram",
                      credential_expires_at=now + timedelta(days=10))
    world.set_channel(world.site.id, credential_expires_at=now + timedelta(days=1))  # not Meta
    world.run(now)
    rows = _rows(world.runtime, "token_expiring")
    assert {r.user_id for r in rows} == {world.editor.user_id, world.approver.user_id}
    assert {r.link for r in rows} == {f"/admin/saluran/{soon.id}"}
    assert all("Halaman Facebook Dinkes" in r.subject for r in rows)
    assert len(rows) == 4  # two people, in-app and email each
    world.run(now + timedelta(hours=1))
    assert len(_rows(world.runtime, "token_expiring")) == 4
    # a new token with another expiry date is a new event
    world.set_channel(soon.id, credential_expires_at=now + timedelta(days=5))
    world.run(now + timedelta(hours=2))
    assert len(_rows(world.runtime, "token_expiring")) == 8


def test_berkala_overdue_once_per_item_and_due_date(world: World) -> None:
    stale = world.berkala("Laporan keuangan semester", stale_days=200)
    world.berkala("Profil dinas", stale_days=30)  # not overdue
    world.run()
    world.run()
    assert _inapp(world.runtime, "berkala_overdue") == {
        (world.editor.user_id, world.opd.id), (world.approver.user_id, world.opd.id)}
    rows = _rows(world.runtime, "berkala_overdue")
    assert {r.item_id for r in rows} == {stale.id}
    assert len(rows) == 4
    due = (utcnow() - timedelta(days=200) + timedelta(days=183)).astimezone(
        ZoneInfo("Asia/Jakarta")).date()
    assert f"paling lambat {long_date(due)}." in rows[0].body_text


def test_dik_review_and_ending_once_per_entry_and_date(office: Office) -> None:
    runtime = office.runtime
    review = in_force(office, title="Rekam medis", review_date="2027-12-01",
                      period_end="2031-12-01")
    ending = in_force(office, title="Hasil uji lab", review_date="2027-12-05",
                      period_end="2027-12-10")
    quiet = in_force(office, title="Data donor", review_date="2028-12-01",
                     period_end="2031-12-01")
    now = datetime(2027, 11, 29, 3, 0, tzinfo=ZoneInfo("UTC"))
    for _ in range(2):
        watch.run(runtime, WORKER, now)
    reviews = _rows(runtime, "dik_review_due")
    assert {r.link for r in reviews} == {f"/admin/dik/{review}", f"/admin/dik/{ending}"}
    assert {r.user_id for r in reviews} == {office.ppid.user_id, office.kepala.user_id}
    assert office.operator.user_id not in {r.user_id for r in reviews}  # approvers only
    assert len({r.dedupe_key for r in reviews if r.delivery == "inapp"}) == 4
    endings = _rows(runtime, "dik_ending")
    assert {r.link for r in endings} == {f"/admin/dik/{ending}"}
    assert {r.user_id for r in endings if r.delivery == "inapp"} == {
        office.ppid.user_id, office.kepala.user_id}
    assert "10 Desember 2027" in endings[0].body_text
    assert f"/admin/dik/{quiet}" not in {r.link for r in [*reviews, *endings]}
    # a period already over is not "ending" (the daily expiry ends it)
    watch.run(runtime, WORKER, datetime(2027, 12, 11, 3, 0, tzinfo=ZoneInfo("UTC")))
    assert len(_rows(runtime, "dik_ending")) == len(endings)


def _next_monday(hour: int, tz: str = "Asia/Jakarta") -> datetime:
    """The coming Monday at ``hour`` in ``tz``: its previous ISO week is the current one."""
    zone = ZoneInfo(tz)
    today = utcnow().astimezone(zone).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(hour), zone)


def _publish_now(runtime: Any, item_id: int) -> None:
    with runtime.db.write() as s:
        s.execute(update(Publication).where(Publication.item_id == item_id).values(
            status=PublicationStatus.PUBLISHED, published_at=utcnow()))


def test_cadence_below_target_once_per_opd_and_week(world: World, make: Factory) -> None:
    busy = make.opd("Dinas Kominfo")
    ed, ap = make.person(Role.EDITOR, busy), make.person(Role.APPROVER, busy)
    site = make.channel(busy, "site")
    for n in range(4):
        _publish_now(world.runtime, make.published_item(ed, ap, busy, [site.id],
                                                        title=f"Kominfo {n}").id)
    for n in range(2):
        _publish_now(world.runtime, world.make.published_item(
            world.editor, world.approver, world.opd, [world.site.id], title=f"Dinkes {n}").id)
    # Sunday evening in the Pemda's zone: the week is not over, nothing yet
    monday = _next_monday(6)
    world.run(monday - timedelta(hours=12))
    assert _rows(world.runtime, "cadence_below_target") == []
    world.run(monday)
    world.run(monday + timedelta(hours=1), worker="watch-worker-2")
    rows = _rows(world.runtime, "cadence_below_target")
    assert _inapp(world.runtime, "cadence_below_target") == {
        (world.approver.user_id, world.opd.id), (world.outsider.user_id, world.other.id)}
    assert world.editor.user_id not in {r.user_id for r in rows}
    assert ap.user_id not in {r.user_id for r in rows}  # four posts meet the target
    dinkes = next(r for r in rows if r.opd_id == world.opd.id)
    assert dinkes.subject == "Dinas Kesehatan: 2 unggahan minggu lalu (target 4)"
    assert len(rows) == 3  # the Dinkes approver by email and in-app, the outsider in-app


def test_berkala_escalation_once_audited_and_threshold(world: World, runtime: Any) -> None:
    late = world.berkala("Laporan keuangan", stale_days=183 + 20)
    barely = world.berkala("Rencana strategis", stale_days=183 + 5)
    world.run()
    world.run(worker="watch-worker-2")
    rows = _rows(runtime, "escalated_berkala")
    assert {(r.user_id, r.item_id) for r in rows} == {(world.admin.user_id, late.id)}
    assert len(rows) == 1  # the admin has no email address: in-app only
    assert rows[0].subject == "Eskalasi: Dinas Kesehatan terlambat 20 hari"
    events = _escalation_events(runtime)
    assert len(events) == 1
    event = events[0]
    assert (event.actor_type, event.actor_id) == ("worker", WORKER)
    assert (event.opd_id, event.item_id, event.result) == (world.opd.id, late.id, "sent")
    assert event.detail["rule"] == escalation.BERKALA_OVERDUE_DAYS
    assert event.detail["threshold"] == 14
    assert event.detail["recipients"] == [world.admin.user_id]
    assert [rule for rule, _key in _sent(runtime)] == [escalation.BERKALA_OVERDUE_DAYS]
    # a lower threshold escalates the other one too, once
    with runtime.db.write() as s:
        escalation.save(s, world.admin.principal, {escalation.BERKALA_OVERDUE_DAYS: (True, 3)})
    world.run()
    world.run()
    assert {r.item_id for r in _rows(runtime, "escalated_berkala")} == {late.id, barely.id}
    assert len(_escalation_events(runtime)) == 2
    with runtime.db.read() as s:
        assert audit.verify(s).ok


def test_approval_escalation_threshold_and_disabled_rule(world: World, runtime: Any) -> None:
    long_wait = world.waiting("Pengumuman lelang", hours=50)
    shorter = world.waiting("Jadwal posyandu", hours=30)
    with runtime.db.write() as s:
        escalation.save(s, world.admin.principal,
                        {escalation.APPROVAL_WAIT_HOURS: (False, 48)})
    world.run()
    assert _rows(runtime, "escalated_approval") == []
    assert _sent(runtime) == []
    with runtime.db.write() as s:
        escalation.save(s, world.admin.principal, {escalation.APPROVAL_WAIT_HOURS: (True, 48)})
    world.run()
    world.run()
    rows = _rows(runtime, "escalated_approval")
    assert [(r.user_id, r.item_id) for r in rows] == [(world.admin.user_id, long_wait.id)]
    assert rows[0].subject == "Eskalasi: \"Pengumuman lelang\" menunggu 50 jam"
    assert len(_escalation_events(runtime)) == 1
    # a lower threshold reaches the shorter wait too; the first is not escalated again
    with runtime.db.write() as s:
        escalation.save(s, world.admin.principal, {escalation.APPROVAL_WAIT_HOURS: (True, 24)})
    world.run()
    world.run()
    assert {r.item_id for r in _rows(runtime, "escalated_approval")} == {
        long_wait.id, shorter.id}
    assert len(_rows(runtime, "escalated_approval")) == 2
    assert len(_escalation_events(runtime)) == 2


def test_channel_held_escalation_from_the_audit_event(world: World, runtime: Any) -> None:
    now = utcnow()
    world.set_channel(world.site.id, status=ChannelStatus.NEEDS_REAUTH,
                      status_detail="Token kedaluwarsa", updated_at=now - timedelta(hours=30))
    fresh = world.make.channel(world.opd, "site", "Portal Pemda")
    # held 30 hours by its row, but its needs_reauth event is 2 hours old: not yet
    world.set_channel(fresh.id, status=ChannelStatus.NEEDS_REAUTH,
                      updated_at=now - timedelta(hours=30))
    with runtime.db.write() as s:
        audit.append(s, [audit.make_event(
            audit.Actor.worker("health"), "channel.needs_reauth", at=now - timedelta(hours=2),
            opd_id=world.opd.id, channel_id=fresh.id, channel_kind="site",
            result=ChannelStatus.NEEDS_REAUTH)])
    world.run(now)
    world.run(now + timedelta(minutes=5))
    rows = _rows(runtime, "escalated_channel")
    assert [r.link for r in rows] == [f"/admin/saluran/{world.site.id}"]
    assert rows[0].subject == "Eskalasi: Situs Dinkes (Dinas Kesehatan) ditahan 30 jam"
    assert "Token kedaluwarsa" in rows[0].body_text
    events = _escalation_events(runtime)
    assert [(e.channel_id, e.detail["rule"]) for e in events] == [
        (world.site.id, escalation.CHANNEL_HELD_HOURS)]
    world.run(now + timedelta(hours=23))  # the fresh one passes 24 hours
    assert {r.link for r in _rows(runtime, "escalated_channel")} == {
        f"/admin/saluran/{world.site.id}", f"/admin/saluran/{fresh.id}"}


def test_escalation_already_fired_by_another_worker(world: World, runtime: Any) -> None:
    late = world.berkala("Laporan keuangan", stale_days=183 + 20)
    found = watch.overdue_berkala  # the subject key the check uses
    with runtime.db.read() as s:
        due = next(r.due for r in found(s, utcnow()) if r.item_id == late.id)
    with runtime.db.write() as s:
        s.add(EscalationSent(rule=escalation.BERKALA_OVERDUE_DAYS,
                             subject_key=f"item-{late.id}-due-{due.isoformat()}",
                             opd_id=world.opd.id))
    result = world.run()
    assert result.escalations == []
    assert _rows(runtime, "escalated_berkala") == []
    assert _escalation_events(runtime) == []
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(EscalationSent)) == 1


def test_rules_load_defaults_and_save_validates(world: World, runtime: Any) -> None:
    with runtime.db.read() as s:
        rules = escalation.load(s)
    assert {n: (r.threshold, r.enabled, r.stored) for n, r in rules.items()} == {
        "berkala_overdue_days": (14, True, False), "approval_wait_hours": (48, True, False),
        "channel_held_hours": (24, True, False)}
    for bad in (0, 3651, "abc", "", "1.5", "-3", "٣"):
        with pytest.raises(Invalid), runtime.db.write() as s:
            escalation.save(s, world.admin.principal, {
                escalation.CHANNEL_HELD_HOURS: (True, 12),
                escalation.APPROVAL_WAIT_HOURS: (True, bad)})
    with pytest.raises(Forbidden), runtime.db.write() as s:
        escalation.save(s, world.approver.principal, {escalation.CHANNEL_HELD_HOURS: (True, 5)})
    with runtime.db.read() as s:
        assert all(not r.stored for r in escalation.load(s).values())
        assert s.scalar(select(func.count()).where(
            AuditEvent.action == "escalation.rule_changed")) == 0
    with runtime.db.write() as s:
        escalation.save(s, world.admin.principal, {escalation.CHANNEL_HELD_HOURS: (True, 6)})
    with runtime.db.write() as s:  # the same values again: nothing to audit
        escalation.save(s, world.admin.principal, {escalation.CHANNEL_HELD_HOURS: (True, 6)})
    with runtime.db.read() as s:
        events = list(s.scalars(select(AuditEvent).where(
            AuditEvent.action == "escalation.rule_changed")))
        assert [(e.actor_id, e.detail["old_threshold"], e.detail["new_threshold"])
                for e in events] == [(str(world.admin.user_id), 24, 6)]
        assert escalation.load(s)[escalation.CHANNEL_HELD_HOURS].threshold == 6


def test_workers_running_at_once_notify_and_escalate_once(world: World, runtime: Any) -> None:
    import threading

    lates = [world.berkala(f"Laporan {n}", stale_days=183 + 20) for n in range(3)]
    world.waiting("Pengumuman lelang", hours=50)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker(n: int) -> None:
        try:
            start.wait()
            world.run(worker=f"watch-worker-{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    escalated = [r.item_id for r in _rows(runtime, "escalated_berkala")]
    assert len(escalated) == 3
    assert set(escalated) == {item.id for item in lates}
    assert len(_rows(runtime, "escalated_approval")) == 1
    assert len(_escalation_events(runtime)) == 4
    assert len(_rows(runtime, "berkala_overdue")) == 3 * 4  # 3 items, 2 people, 2 deliveries
    with runtime.db.read() as s:
        assert audit.verify(s).ok


def test_escalation_waits_while_there_is_no_ppid_utama(world: World, runtime: Any) -> None:
    with runtime.db.write() as s:
        s.execute(update(User).where(User.id == world.admin.user_id).values(is_active=False))
    item = world.waiting("Pengumuman lelang", hours=50)
    world.run()
    assert _sent(runtime) == [] and _rows(runtime, "escalated_approval") == []
    with runtime.db.write() as s:
        s.execute(update(User).where(User.id == world.admin.user_id).values(is_active=True))
    world.run()
    rows = _rows(runtime, "escalated_approval")
    assert [(r.user_id, r.item_id) for r in rows] == [(world.admin.user_id, item.id)]
    assert len(_sent(runtime)) == 1
