"""Aturan eskalasi (/admin/pengawasan/eskalasi): the PPID Utama sees and saves the three
rules; everybody else gets 403; a bad number is refused with a clear message and stores
nothing; the form needs its CSRF token."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from publisher.models import AuditEvent, EscalationRule, Role
from publisher.notify import escalation

PAGE = "/admin/pengawasan/eskalasi"


def _form(**overrides: Any) -> dict[str, str]:
    data = {
        "berkala_overdue_days-enabled": "1", "berkala_overdue_days-threshold": "14",
        "approval_wait_hours-enabled": "1", "approval_wait_hours-threshold": "48",
        "channel_held_hours-enabled": "1", "channel_held_hours-threshold": "24",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _stored(runtime: Any) -> dict[str, tuple[int, bool]]:
    with runtime.db.read() as s:
        return {r.name: (r.threshold, r.enabled) for r in s.scalars(select(EscalationRule))}


def _changes(runtime: Any) -> list[dict[str, Any]]:
    with runtime.db.read() as s:
        return [e.detail for e in s.scalars(select(AuditEvent).where(
            AuditEvent.action == "escalation.rule_changed").order_by(AuditEvent.seq))]


def test_admin_sees_the_defaults_and_saves(ui: Any, make: Any, runtime: Any) -> None:
    ui.login(make.admin().username)
    page = ui.text(PAGE)
    assert "Aturan eskalasi" in page
    for name, value in escalation.DEFAULTS.items():
        assert f'name="{name}-threshold" value="{value}"' in page
        assert f'name="{name}-enabled" value="1" checked' in page
    assert 'id="oversight-escalation"' in ui.text("/admin/pengawasan")
    response = ui.post(PAGE, _form(**{
        "berkala_overdue_days-threshold": "7", "approval_wait_hours-enabled": None,
        "channel_held_hours-threshold": "12"}))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(PAGE)
    assert _stored(runtime) == {"berkala_overdue_days": (7, True),
                                "approval_wait_hours": (48, False),
                                "channel_held_hours": (12, True)}
    changes = {d["rule"]: d for d in _changes(runtime)}
    assert set(changes) == set(escalation.RULES)
    assert (changes["berkala_overdue_days"]["old_threshold"],
            changes["berkala_overdue_days"]["new_threshold"]) == (14, 7)
    assert (changes["approval_wait_hours"]["old_enabled"],
            changes["approval_wait_hours"]["new_enabled"]) == (True, False)
    page = ui.text(PAGE)
    assert "Aturan eskalasi disimpan." in page
    assert 'name="berkala_overdue_days-threshold" value="7"' in page
    assert 'name="approval_wait_hours-enabled" value="1">' in page  # unchecked now
    # saving the same values again changes nothing and audits nothing
    ui.post(PAGE, _form(**{"berkala_overdue_days-threshold": "7",
                           "approval_wait_hours-enabled": None,
                           "channel_held_hours-threshold": "12"}))
    assert len(_changes(runtime)) == 3


def test_bad_number_is_refused_and_nothing_is_stored(ui: Any, make: Any, runtime: Any) -> None:
    ui.login(make.admin().username)
    for bad, words in (("0", "di luar rentang 1–3650"), ("3651", "di luar rentang 1–3650"),
                       ("dua", "bukan bilangan bulat"), ("", "bukan bilangan bulat"),
                       ("2.5", "bukan bilangan bulat")):
        response = ui.post(PAGE, _form(**{"berkala_overdue_days-threshold": "3",
                                          "channel_held_hours-threshold": bad}))
        assert response.status_code == 422, bad
        page = response.get_data(as_text=True)
        assert "Aturan eskalasi tidak disimpan" in page
        assert words in page, (bad, page)
        assert 'id="e-channel_held_hours"' in page
        assert 'aria-invalid="true"' in page
        assert _stored(runtime) == {}  # not even the valid berkala threshold
    assert _changes(runtime) == []


def test_others_get_403(ui: Any, make: Any, runtime: Any) -> None:
    opd = make.opd()
    for role, unit in ((Role.APPROVER, opd), (Role.EDITOR, opd), (Role.AUDITOR, None)):
        person = make.person(role, unit)
        ui.login(person.username)
        assert ui.get(PAGE).status_code == 403
        assert ui.post(PAGE, _form(**{"channel_held_hours-threshold": "2"})).status_code == 403
        if role == Role.AUDITOR:  # sees the oversight page, but not the link
            assert 'id="oversight-escalation"' not in ui.text("/admin/pengawasan")
        ui.post("/admin/keluar")
    assert _stored(runtime) == {}


def test_signed_out_and_without_csrf(ui: Any, make: Any, runtime: Any) -> None:
    assert ui.get(PAGE).status_code in (302, 401)
    ui.login(make.admin().username)
    response = ui.client.post(PAGE, data=_form(**{"channel_held_hours-threshold": "2"}))
    assert response.status_code == 400
    assert _stored(runtime) == {}
