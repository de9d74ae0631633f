"""DIK entries: the draft → submit → approve/return chain with separation of duties, versions
that are never overwritten, and exempted items that never go out on any channel."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from publisher import audit
from publisher import graph as graph_module
from publisher.channels.webhook import new_signing_secret
from publisher.models import (
    AuditEvent,
    DikEntry,
    DikStatus,
    DikVersionStatus,
    Item,
    Publication,
    PublicationStatus,
    Role,
)
from publisher.runtime import Runtime
from publisher.services import dik, items
from publisher.services.errors import Conflict, ExemptInformation, Forbidden, Invalid, NotFound
from publisher.timeutil import to_local, utcnow

from .conftest import make_settings
from .dik_support import Office, actions, draft, entry_data, in_force, step
from .factories import Factory
from .graph_server import GraphServer
from .webhook_receiver import WebhookReceiver

PAGE_ID = "1029384756"
IG_ID = "17841400000000001"


def test_chain_draft_submit_approve(office: Office) -> None:
    entry_id = draft(office)
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        assert entry.status == DikStatus.DRAFT and entry.approved_version is None
    step(office, office.ppid, dik.submit, entry_id)
    step(office, office.kepala, dik.approve, entry_id)
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        version = dik.version_of(entry)
        assert entry.status == DikStatus.IN_FORCE and entry.approved_version == 1
        assert version.status == DikVersionStatus.APPROVED
        assert version.submitter["name"] == "dr. Sari PPID"
        assert version.submitter["nip"] == "198502022010012002"
        assert version.approver["jabatan"] == "Kepala Dinas Kesehatan"
        assert version.approver["nip"] == "197001011995031001"
        assert version.number.startswith("001/BA-UK/") and version.number.endswith(
            f"/{utcnow().year}")
        assert version.content_hash == dik.version_hash(version)
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.like("dik.%"))
                           .order_by(AuditEvent.seq)).all()
        assert [e.action for e in events] == ["dik.atasan_designated", "dik.drafted",
                                              "dik.submitted", "dik.approved"]
        approved = events[-1]
        assert approved.actor_name == "dr. Ahmad Kepala" and approved.actor_role == "approver"
        assert approved.detail["nip"] == "197001011995031001"
        assert approved.detail["jabatan"] == "Kepala Dinas Kesehatan"
        assert audit.verify(s).ok


def test_return_with_comment_then_resubmit(office: Office) -> None:
    entry_id = draft(office)
    step(office, office.ppid, dik.submit, entry_id)
    with pytest.raises(Invalid) as empty:
        step(office, office.kepala, dik.return_version, entry_id, "  ")
    assert empty.value.field == "comment"
    step(office, office.kepala, dik.return_version, entry_id, "Lengkapi dasar hukum")
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        assert entry.status == DikStatus.RETURNED
        assert dik.version_of(entry).return_comment == "Lengkapi dasar hukum"
    step(office, office.operator, dik.update_draft, entry_id,
         {"legal_basis": "UU 14/2008 Pasal 17 huruf h angka 2"})
    step(office, office.ppid, dik.submit, entry_id)
    step(office, office.kepala, dik.approve, entry_id)
    assert actions(office.runtime)[-4:] == ["dik.returned", "dik.edited", "dik.submitted",
                                            "dik.approved"]


def test_separation_of_duties_refusals_are_audited(office: Office) -> None:
    db = office.runtime.db
    entry_id = draft(office)
    # the operator cannot submit (only the PPID Pelaksana signs)
    with pytest.raises(Forbidden):
        step(office, office.operator, dik.submit, entry_id)
    step(office, office.ppid, dik.submit, entry_id)
    # the PPID Pelaksana who submitted is not the atasan: refused and audited
    with pytest.raises(dik.ApprovalRefused):
        dik.run_guarded(db, office.ppid.principal, dik.approve, entry_id)
    # an admin (PPID Utama) is not the atasan PPID either
    with pytest.raises(dik.ApprovalRefused):
        dik.run_guarded(db, office.make.admin().principal, dik.approve, entry_id)
    # someone of another OPD does not even see it (answered as not found, still audited)
    stranger = office.make.person(Role.APPROVER, office.other_opd)
    with pytest.raises(NotFound):
        dik.run_guarded(db, stranger.principal, dik.approve, entry_id)
    with pytest.raises(NotFound):  # an entry that does not exist is just not found
        dik.run_guarded(db, stranger.principal, dik.approve, entry_id + 1000)
    with db.read() as s:
        refused = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "dik.approval_refused")).all()
        assert s.get_one(DikEntry, entry_id).status == DikStatus.SUBMITTED
        assert len(refused) == 3 and {e.result for e in refused} == {"refused"}
        assert refused[-1].actor_id == str(stranger.user_id)
        assert all(e.detail["dik_entry_id"] == entry_id for e in refused)


def test_atasan_cannot_approve_what_they_drafted(office: Office) -> None:
    with office.runtime.db.write() as s:
        entry_id = dik.create_entry(s, office.kepala.principal, office.opd.id,
                                    entry_data()).id
    step(office, office.ppid, dik.submit, entry_id)
    with pytest.raises(dik.ApprovalRefused, match="susun atau ajukan sendiri"):
        dik.run_guarded(office.runtime.db, office.kepala.principal, dik.approve, entry_id)


def test_no_designated_atasan_means_no_approval(make: Factory, runtime: Runtime) -> None:
    opd = make.opd("Kecamatan Tanpa Camat")
    operator = make.person(Role.EDITOR, opd)
    ppid = make.person(Role.APPROVER, opd)
    other = make.person(Role.APPROVER, opd)
    with runtime.db.write() as s:
        entry_id = dik.create_entry(s, operator.principal, opd.id, entry_data()).id
    with runtime.db.write() as s:
        dik.submit(s, ppid.principal, entry_id)
    with pytest.raises(dik.ApprovalRefused, match="belum menetapkan atasan PPID"):
        dik.run_guarded(runtime.db, other.principal, dik.approve, entry_id)


def test_pemda_entries_are_approved_by_the_sekda(make: Factory, runtime: Runtime) -> None:
    pemda = make.opd("Pemerintah Kabupaten Serdang Bedagai")
    make.opd("Dinas Kominfo", parent=pemda.slug)
    ppid = make.person(Role.APPROVER, pemda)
    sekda = make.person(Role.APPROVER, pemda, full_name="Ir. Sekda", jabatan="Sekretaris Daerah",
                        nip="196801011990031002")
    admin, signer = make.admin(), make.person(Role.APPROVER, pemda)
    with runtime.db.write() as s:
        dik.designate(s, admin.principal, pemda.id, sekda.user_id, "Sekretaris Daerah")
        entry_id = dik.create_entry(s, ppid.principal, pemda.id, entry_data()).id
    with runtime.db.write() as s:
        dik.submit(s, signer.principal, entry_id)
    with runtime.db.write() as s:
        entry = dik.approve(s, sekda.principal, entry_id)
        assert dik.version_of(entry).approver["title"].startswith("Sekretaris Daerah")


def test_only_admin_designates(office: Office) -> None:
    with pytest.raises(Forbidden), office.runtime.db.write() as s:
        dik.designate(s, office.kepala.principal, office.opd.id, office.ppid.user_id, "Kepala")
    admin = office.make.admin()
    with pytest.raises(Invalid) as bad, office.runtime.db.write() as s:
        dik.designate(s, admin.principal, office.opd.id, office.kepala.user_id, "")
    assert bad.value.field == "jabatan"


def test_only_an_approver_of_the_opd_can_be_designated(office: Office) -> None:
    """An operator of the OPD, or an approver of another OPD, could never sign its DIK: the
    designation is refused, naming the user, and the one in force stays."""
    admin = office.make.admin()
    stranger = office.make.person(Role.APPROVER, office.other_opd, full_name="Kepala Lain")
    for person in (office.operator, stranger):
        with pytest.raises(Invalid) as refused, office.runtime.db.write() as s:
            dik.designate(s, admin.principal, office.opd.id, person.user_id, "Kepala Dinas")
        assert refused.value.field == "user_id" and "bukan penyetuju" in refused.value.message
    with office.runtime.db.read() as s:
        assert dik.designation(s, office.opd.id).user_id == office.kepala.user_id


@pytest.mark.parametrize(("field", "value"), [
    ("article", ""), ("article", "k"), ("legal_basis", ""), ("harm", ""),
    ("public_interest", ""), ("weighing", ""), ("period_end", ""), ("holder_unit", ""),
    ("period_end", "2020-01-01"), ("test_date", "2 Desember"), ("conclusion", "rahasia"),
])
def test_incomplete_entry_is_refused_naming_the_field(office: Office, field: str,
                                                      value: str) -> None:
    data = entry_data(**{field: value})
    try:
        entry_id = draft(office, **{field: value})
    except Invalid as exc:  # malformed: refused at drafting
        assert exc.field == field
        return
    with pytest.raises(Invalid) as refused:
        step(office, office.ppid, dik.submit, entry_id)
    assert refused.value.field == field, data
    with office.runtime.db.read() as s:
        assert s.get_one(DikEntry, entry_id).status == DikStatus.DRAFT


def test_until_event_is_a_period(office: Office) -> None:
    entry_id = draft(office, period_end="", until_event="putusan pengadilan berkekuatan tetap")
    step(office, office.ppid, dik.submit, entry_id)


def test_approved_version_is_never_edited_and_retest_makes_a_new_one(office: Office) -> None:
    entry_id = in_force(office)
    with pytest.raises(Conflict, match="uji ulang"):
        step(office, office.operator, dik.update_draft, entry_id, {"harm": "lain"})
    step(office, office.operator, dik.retest, entry_id, {"harm": "Konsekuensi diperbarui."})
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        assert entry.status == DikStatus.IN_FORCE and entry.approved_version == 1
        assert entry.latest_version == 2
        first, second = entry.versions
        assert first.harm.startswith("Membuka rahasia") and second.harm == "Konsekuensi diperbarui."
        assert second.status == DikVersionStatus.DRAFT and second.number == ""
    step(office, office.ppid, dik.submit, entry_id)
    step(office, office.kepala, dik.approve, entry_id)
    with office.runtime.db.read() as s:
        entry = s.get_one(DikEntry, entry_id)
        first, second = entry.versions
        assert entry.approved_version == 2
        assert first.status == DikVersionStatus.SUPERSEDED
        assert second.number.startswith("002/BA-UK/")
        assert first.content_hash != second.content_hash
    assert "dik.retested" in actions(office.runtime)


def test_conclusion_dibuka_opens_the_entry(office: Office) -> None:
    entry_id = in_force(office, conclusion="dibuka")
    with office.runtime.db.read() as s:
        assert s.get_one(DikEntry, entry_id).status == DikStatus.OPENED


# --- enforcement ------------------------------------------------------------------------------


def test_linked_item_is_never_approved_and_its_publications_are_blocked(office: Office) -> None:
    make, runtime = office.make, office.runtime
    site = make.channel(office.opd, "site")
    item = make.item(office.operator, office.opd, [site.id], title="Rekap rekam medis")
    with runtime.db.write() as s:
        items.submit_item(s, office.operator.principal, runtime.settings, item.id)
    entry_id = draft(office)
    step(office, office.operator, dik.link_item, item.id, entry_id)
    with runtime.db.read() as s:
        linked = s.get_one(Item, item.id)
        assert linked.category == "dikecualikan" and linked.exemption_article == "h"
        assert linked.targets == []
    with pytest.raises(ExemptInformation), runtime.db.write() as s:
        items.approve_item(s, office.ppid.principal, runtime.settings, item.id)
    # its category cannot be changed back while it is linked
    with pytest.raises(Invalid) as back, runtime.db.write() as s:
        items.update_item(s, office.ppid.principal, runtime.settings, item.id,
                          {"category": "berkala"})
    assert back.value.field == "category"


def test_reclassification_only_after_the_entry_ends_and_needs_fresh_approval(
        office: Office) -> None:
    make, runtime = office.make, office.runtime
    item = make.item(office.operator, office.opd, [], title="Data pasien")
    entry_id = in_force(office, period_end=(date.today() + timedelta(days=400)).isoformat())
    step(office, office.operator, dik.link_item, item.id, entry_id)
    with pytest.raises(Conflict, match="tetap dikecualikan"):
        step(office, office.ppid, dik.unlink_item, item.id, "berkala")
    with runtime.db.write() as s:
        ended = dik.expire_due(s, utcnow() + timedelta(days=800))
    assert [e.entry_id for e in ended] == [entry_id] and ended[0].items == (item.id,)
    with runtime.db.read() as s:
        assert s.get_one(Item, item.id).category == "dikecualikan"  # nothing by itself
        assert s.get_one(DikEntry, entry_id).status == DikStatus.ENDED
    with pytest.raises(Forbidden):
        step(office, office.operator, dik.unlink_item, item.id, "berkala")
    step(office, office.ppid, dik.unlink_item, item.id, "berkala")
    with runtime.db.read() as s:
        reclassified = s.get_one(Item, item.id)
        assert reclassified.category == "berkala" and reclassified.dik_entry_id is None
        assert s.scalar(select(Publication.id).where(Publication.item_id == item.id)) is None
        assert audit.verify(s).ok
    assert "dik.expired" in actions(runtime) and actions(runtime)[-1] == "item.reclassified"


def test_expiry_publishes_nothing_and_is_once(office: Office) -> None:
    today = to_local(utcnow(), office.opd.timezone).date()  # the OPD's day, not the machine's
    entry_id = in_force(office, period_end=today.isoformat())
    with office.runtime.db.write() as s:
        assert dik.expire_due(s) == []  # the last day is still in force
    later = utcnow() + timedelta(days=2)
    with office.runtime.db.write() as s:
        assert [e.entry_id for e in dik.expire_due(s, later)] == [entry_id]
    with office.runtime.db.write() as s:
        assert dik.expire_due(s, later) == []
    with office.runtime.db.read() as s:
        assert s.scalar(select(Publication.id)) is None
    assert actions(office.runtime).count("dik.expired") == 1


def test_redacted_version_goes_out_only_for_dibuka_sebagian(office: Office) -> None:
    make, runtime = office.make, office.runtime
    site = make.channel(office.opd, "site")
    closed = in_force(office)
    partial = in_force(office, conclusion="dibuka_sebagian", title="Laporan audit internal")
    redacted = make.item(office.operator, office.opd, [site.id], title="Laporan (dihitamkan)")
    with pytest.raises(Conflict):
        step(office, office.operator, dik.link_item, redacted.id, closed, True)
    step(office, office.operator, dik.link_item, redacted.id, partial, True)
    item = make.published_item(office.operator, office.ppid, office.opd, [site.id],
                               title="Laporan audit (versi hitam)")
    with pytest.raises(Conflict):  # already approved: it needs its own approval first
        step(office, office.operator, dik.link_item, item.id, partial, True)
    with runtime.db.write() as s:
        items.submit_item(s, office.operator.principal, runtime.settings, redacted.id)
    with runtime.db.write() as s:
        items.approve_item(s, office.ppid.principal, runtime.settings, redacted.id)
    make.dispatcher().drain()
    with runtime.db.read() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == redacted.id)).one()
        assert pub.status == PublicationStatus.PUBLISHED


# --- the sender's check, on every channel kind ------------------------------------------------


@dataclass
class Peers:
    runtime: Runtime
    make: Factory
    graph: GraphServer
    hook: WebhookReceiver
    channels: dict[str, int]
    office: Office


@pytest.fixture()
def peers(tmp_path: Path, database_url: str) -> Iterator[Peers]:
    graph_module.throttle.reset()
    graph = GraphServer()
    token = graph.state.add_page(PAGE_ID, "Dinas Kesehatan", ig=(IG_ID, "dinkes_contoh"))
    secret = new_signing_secret()
    runtime = Runtime(make_settings(tmp_path, database_url, graph_url=graph.url))
    make = Factory(runtime)
    opd = make.opd("Dinas Kesehatan")
    operator = make.person(Role.EDITOR, opd)
    ppid = make.person(Role.APPROVER, opd)
    kepala = make.person(Role.APPROVER, opd)
    admin = make.admin()
    with runtime.db.write() as s:
        dik.designate(s, admin.principal, opd.id, kepala.user_id, "Kepala Dinas")
    with WebhookReceiver(secret) as hook:
        chans = {
            "site": make.channel(opd, "site").id,
            "webhook": make.channel(opd, "webhook", config={
                "url": hook.url, "lookup_url": hook.lookup_url},
                secrets={"signing_secret": secret}).id,
            # nothing listens on port 9: a send attempt would fail, not block
            "wordpress": make.channel(opd, "wordpress", config={
                "url": "http://127.0.0.1:9", "username": "editor"},
                secrets={"app_password": "abcd efgh ijkl mnop qrst uvwx"}).id,
            "facebook": make.channel(opd, "facebook", config={"page_id": PAGE_ID},
                                     secrets={"page_token": token}).id,
            "instagram": make.channel(opd, "instagram", config={"ig_user_id": IG_ID},
                                      secrets={"page_token": token}).id,
        }
        office = Office(runtime, make, opd, operator, ppid, kepala, None)
        try:
            yield Peers(runtime, make, graph, hook, chans, office)
        finally:
            graph.close()
            runtime.db.dispose()
            graph_module.throttle.reset()


@pytest.mark.parametrize("kind", ["site", "webhook", "wordpress", "facebook", "instagram"])
def test_item_linked_after_approval_is_blocked_at_send_time(peers: Peers, kind: str) -> None:
    """Approved and scheduled, then found to be exempt: the sender's own check stops it, and
    the peer receives nothing. (Linked straight in the database too, past the services.)"""
    office, runtime = peers.office, peers.runtime
    entry_id = in_force(office)
    item = peers.make.published_item(office.operator, office.ppid, office.opd,
                                     [peers.channels[kind]], title=f"Data pasien {kind}",
                                     body_html="<p>Data pasien</p>")
    from sqlalchemy import update
    with runtime.db.write() as s:  # behind the services' back: only dik_entry_id changes
        s.execute(update(Item).where(Item.id == item.id).values(dik_entry_id=entry_id))
    peers.make.dispatcher().drain()
    with runtime.db.read() as s:
        pub = s.scalars(select(Publication).where(Publication.item_id == item.id)).one()
        assert pub.status == PublicationStatus.BLOCKED, pub.last_error
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.action == "publication.blocked",
            AuditEvent.publication_id == pub.id)).one()
        assert event.detail["dik_entry_id"] == entry_id
        assert event.detail["dik_status"] == DikStatus.IN_FORCE
    assert peers.hook.stored == {}
    assert peers.graph.state.calls("POST", r".") == 0


def test_feed_entry_cannot_reopen_an_exempted_item(peers: Peers) -> None:
    """A feed-made item linked to a DIK entry stays blocked even when its feed entry changes
    (the feed updates content, never the exemption)."""
    office, runtime = peers.office, peers.runtime
    entry_id = in_force(office)
    with runtime.db.write() as s:
        item = items.create_item(s, office.operator.principal, runtime.settings, office.opd.id,
                                 {"title": "Artikel dari situs", "body_html": "<p>x</p>"},
                                 channel_ids=[peers.channels["facebook"]], source="feed",
                                 source_ref="https://dinkes.example/artikel-1")
    step(office, office.operator, dik.link_item, item.id, entry_id)
    with pytest.raises(Invalid), runtime.db.write() as s:
        items.update_item(s, office.operator.principal, runtime.settings, item.id,
                          {"category": "berkala", "title": "Artikel dari situs (diperbarui)"})
    with pytest.raises(ExemptInformation), runtime.db.write() as s:
        items.submit_item(s, office.operator.principal, runtime.settings, item.id)
    assert peers.graph.state.calls("POST", r".") == 0


def test_daily_expiry_runs_once_for_the_whole_cluster(office: Office) -> None:
    from publisher.jobs import expire_dik
    from publisher.models import DailyJob

    entry_id = in_force(office, period_end=(date.today() - timedelta(days=3)).isoformat(),
                        period_start=(date.today() - timedelta(days=30)).isoformat(),
                        review_date="")
    first = expire_dik(office.runtime, "worker-a")
    second = expire_dik(office.runtime, "worker-b")
    assert first is not None and [e.entry_id for e in first] == [entry_id]
    assert second is None  # already ran today
    with office.runtime.db.read() as s:
        job = s.get_one(DailyJob, "dik-expiry")
        assert job.claimed_by == "worker-a" and job.last_day is not None
        assert s.get_one(DikEntry, entry_id).status == DikStatus.ENDED
    assert actions(office.runtime).count("dik.expired") == 1
