"""Tampering with the audit log in the database itself is found by ``publisher audit verify``,
which names the event."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import select, text

from publisher import audit
from publisher.models import AuditEvent, Role

from .factories import Factory
from .tampering import unguarded


def _history(make: Factory) -> None:
    opd = make.opd("Kecamatan Sei Rampah")
    editor = make.person(Role.EDITOR, opd)
    approver = make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site")
    for _ in range(3):
        make.published_item(editor, approver, opd, [site.id])
    make.dispatcher().drain()


def _verify_cli(runtime) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PUBLISHER_DATABASE_URL": runtime.settings.database_url,
           "PUBLISHER_SECRET_KEY": runtime.settings.secret_key,
           "PUBLISHER_INSTANCE_PATH": str(runtime.settings.instance_path)}
    return subprocess.run([sys.executable, "-m", "publisher", "audit", "verify"], env=env,
                          capture_output=True, text=True, timeout=120)


def _tamper(runtime, sql: str) -> None:  # type: ignore[no-untyped-def]
    """Change the log behind the application's back, past the append-only triggers."""
    with runtime.db.engine.begin() as conn, unguarded(conn):
        conn.execute(text(sql))


def test_append_only_triggers_refuse_changes(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    _history(make)
    with pytest.raises(Exception, match="append-only"), runtime.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET result = 'x' WHERE seq = 3"))
    with pytest.raises(Exception, match="append-only"), runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 3"))


def test_intact_chain_verifies(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    _history(make)
    done = _verify_cli(runtime)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "utuh" in done.stdout


def test_edited_event_is_named(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    _history(make)
    with runtime.db.read() as s:
        seq = s.scalars(select(AuditEvent.seq).where(
            AuditEvent.action == "publication.published").order_by(AuditEvent.seq)).first()
        assert seq is not None
    _tamper(runtime, f"UPDATE audit_event SET actor_name = 'Orang Lain' WHERE seq = {seq}")
    done = _verify_cli(runtime)
    assert done.returncode == 1
    assert f"event #{seq} was edited" in done.stdout
    assert done.stdout.count("MASALAH") == 1, "only the edited event is named"


def test_deleted_and_reordered_events_are_named(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    _history(make)
    _tamper(runtime, "DELETE FROM audit_event WHERE seq = 5")
    with runtime.db.read() as s:
        result = audit.verify(s)
    assert not result.ok
    assert any("#5 deleted" in p for p in result.problems)

    # swap the contents of two events (hashes and all), keeping their numbers
    with runtime.db.engine.begin() as conn, unguarded(conn):
        conn.execute(text("UPDATE audit_event SET seq = -7 WHERE seq = 7"))
        conn.execute(text("UPDATE audit_event SET seq = 7 WHERE seq = 8"))
        conn.execute(text("UPDATE audit_event SET seq = 8 WHERE seq = -7"))
    with runtime.db.read() as s:
        result = audit.verify(s)
    assert any("event #7 does not follow" in p for p in result.problems)


def test_truncated_tail_is_named(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    _history(make)
    with runtime.db.read() as s:
        last = audit.count(s)
    _tamper(runtime, f"DELETE FROM audit_event WHERE seq >= {last - 1}")
    with runtime.db.read() as s:
        result = audit.verify(s)
    assert any(f"#{last - 1}–#{last} deleted from the end" in p for p in result.problems)


def test_secrets_never_reach_the_audit_detail() -> None:
    detail = audit.scrub({"page_token": "EAAB…", "app_password": "x", "signing_secret": "y",
                          "Authorization": "Bearer z", "entry_key": "guid-1",
                          "nested": {"api_key": "k", "url": "https://x"}})
    assert detail == {"entry_key": "guid-1", "nested": {"url": "https://x"}}


def test_detail_in_another_json_form_is_not_an_edit(make: Factory, runtime) -> None:  # type: ignore[no-untyped-def]
    """A backend or dump/restore that re-serialises the detail JSON (spaces, key order) does
    not change its content: only a changed value is an edit."""
    _history(make)
    with runtime.db.read() as s:
        seq = s.scalars(select(AuditEvent.seq).where(
            AuditEvent.action == "item.approved").order_by(AuditEvent.seq)).first()
    _tamper(runtime, f"""UPDATE audit_event SET detail = '{{"jabatan": "approver", "nip": "198001012010011001", "comment": ""}}' WHERE seq = {seq}""")  # noqa: E501
    with runtime.db.read() as s:
        assert audit.verify(s).ok
    with runtime.db.engine.begin() as conn, unguarded(conn):
        conn.execute(text(f"""UPDATE audit_event SET detail = '{{"comment": "", "jabatan": "approver", "nip": "199901012020011001"}}' WHERE seq = {seq}"""))  # noqa: E501
    with runtime.db.read() as s:
        problems = audit.verify(s).problems
    assert problems == [f"event #{seq} was edited: its content (item.approved) no longer "
                        "matches its hash"]


# --- rows changed behind the software, with no event at all -----------------------------------


def _dik_world(runtime):  # type: ignore[no-untyped-def]
    """An OPD with a DIK entry in force and a published item linked to it."""
    from .dik_support import Office, in_force

    make = Factory(runtime)
    opd = make.opd("Dinas Kesehatan")
    operator = make.person(Role.EDITOR, opd)
    ppid = make.person(Role.APPROVER, opd, nip="198502022010012002")
    kepala = make.person(Role.APPROVER, opd, nip="197001011995031001", jabatan="Kepala Dinas")
    from publisher.services import dik

    admin = make.admin()
    with runtime.db.write() as s:
        dik.designate(s, admin.principal, opd.id, kepala.user_id, "Kepala Dinas")
    office = Office(runtime, make, opd, operator, ppid, kepala, make.opd("Dinas Lain"))
    return office, in_force(office)


def _problems(runtime) -> list[str]:  # type: ignore[no-untyped-def]
    with runtime.db.read() as s:
        return audit.verify(s).problems


@pytest.mark.parametrize(("sql", "named"), [
    ("UPDATE dik_entry SET status = 'opened' WHERE id = {entry}",
     "dik_entry #{entry} was changed without an audit event"),
    ("UPDATE dik_version SET weighing = 'diganti' WHERE entry_id = {entry}",
     "dik_version #"),
    ("UPDATE membership SET role = 'admin', opd_id = NULL WHERE user_id = {operator}",
     "membership #"),
    ("INSERT INTO membership (user_id, opd_id, role) VALUES ({operator}, NULL, 'auditor')",
     "created outside the software"),
    ("UPDATE official_designation SET user_id = {operator}", "official_designation #"),
    ("UPDATE user_account SET is_active = false WHERE id = {kepala}",
     "user_account #{kepala} was changed"),
])
def test_direct_edits_of_audited_rows_are_named(runtime, sql: str, named: str) -> None:  # type: ignore[no-untyped-def]
    office, entry = _dik_world(runtime)
    assert _problems(runtime) == []
    ids = {"entry": entry, "operator": office.operator.user_id, "kepala": office.kepala.user_id}
    with runtime.db.engine.begin() as conn:
        conn.execute(text(sql.format(**ids)))
    problems = _problems(runtime)
    assert any(named.format(**ids) in p for p in problems), problems


def test_a_deleted_dik_entry_and_an_unlinked_item_are_named(runtime) -> None:  # type: ignore[no-untyped-def]
    from publisher.services import dik

    office, entry = _dik_world(runtime)
    site = office.make.channel(office.opd, "site")
    item = office.make.item(office.operator, office.opd, [site.id])
    with runtime.db.write() as s:
        dik.link_item(s, office.ppid.principal, item.id, entry)
    assert _problems(runtime) == []
    with runtime.db.engine.begin() as conn:  # quietly back on the site, and the entry gone
        conn.execute(text(f"UPDATE item SET dik_entry_id = NULL, category = 'berkala' "
                          f"WHERE id = {item.id}"))
        conn.execute(text(f"DELETE FROM dik_version WHERE entry_id = {entry}"))
        conn.execute(text(f"DELETE FROM dik_entry WHERE id = {entry}"))
    problems = _problems(runtime)
    assert any(f"item #{item.id} was changed without an audit event" in p for p in problems)
    assert any("dik_entry row(s) were deleted outside the software" in p for p in problems)
