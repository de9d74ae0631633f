"""The Pemda's escalation rules: when the PPID Utama is told about what an OPD leaves waiting.

Three rules, each with a threshold and an on/off switch: a berkala item overdue by more than
N days, an item awaiting approval more than N hours, a channel held (needs re-auth) more than
N hours. A rule without a row has its default and is on. Only the PPID Utama (admin) changes
them; every change is an audit event (``escalation.rule_changed``) with the old and new values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Principal
from ..db import insert_for
from ..models import EscalationRule
from ..services.auditing import record
from ..services.errors import Forbidden, Invalid
from ..timeutil import utcnow

BERKALA_OVERDUE_DAYS = "berkala_overdue_days"
APPROVAL_WAIT_HOURS = "approval_wait_hours"
CHANNEL_HELD_HOURS = "channel_held_hours"

#: The rules in display order, with their default thresholds.
DEFAULTS: dict[str, int] = {
    BERKALA_OVERDUE_DAYS: 14,
    APPROVAL_WAIT_HOURS: 48,
    CHANNEL_HELD_HOURS: 24,
}
RULES = tuple(DEFAULTS)
#: The unit of each rule's threshold (as the service's messages name it).
UNITS = {BERKALA_OVERDUE_DAYS: "hari", APPROVAL_WAIT_HOURS: "jam", CHANNEL_HELD_HOURS: "jam"}
#: Names in the service's messages (Bahasa Indonesia, like the other services).
NAMES = {
    BERKALA_OVERDUE_DAYS: "informasi berkala terlambat",
    APPROVAL_WAIT_HOURS: "persetujuan tertunda",
    CHANNEL_HELD_HOURS: "saluran ditahan",
}
MIN_THRESHOLD = 1
MAX_THRESHOLD = 3650


@dataclass(frozen=True)
class Rule:
    """One rule as it stands (``stored``: False when it has no row and keeps its default)."""

    name: str
    threshold: int
    enabled: bool
    stored: bool = False


def load(conn: Any) -> dict[str, Rule]:
    """Every rule by name, in :data:`RULES` order (defaults for those without a row); works
    on a Session or a Connection."""
    rows = {r.name: r for r in conn.execute(
        select(EscalationRule.name, EscalationRule.threshold, EscalationRule.enabled)
        .where(EscalationRule.name.in_(RULES))).all()}
    rules: dict[str, Rule] = {}
    for name in RULES:
        row = rows.get(name)
        rules[name] = (Rule(name, int(row.threshold), bool(row.enabled), True) if row is not None
                       else Rule(name, DEFAULTS[name], True))
    return rules


def parse_threshold(name: str, raw: Any) -> int:
    """A threshold as a whole number in 1..3650, or Invalid naming the rule."""
    label = f"{NAMES[name]} ({UNITS[name]})"
    if isinstance(raw, bool):
        raise Invalid(f"{label}: isi dengan bilangan bulat", field=name)
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw if raw is not None else "").strip()
        if not text or not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
            raise Invalid(f"{label}: {text[:20]!r} bukan bilangan bulat; isi "
                          f"{MIN_THRESHOLD}–{MAX_THRESHOLD}", field=name)
        value = int(text)
    if not MIN_THRESHOLD <= value <= MAX_THRESHOLD:
        raise Invalid(f"{label}: {value} di luar rentang {MIN_THRESHOLD}–{MAX_THRESHOLD}",
                      field=name)
    return value


def save(session: Session, principal: Principal | None,
         changes: Mapping[str, tuple[bool, Any]]) -> dict[str, Rule]:
    """Set rules (name → (enabled, threshold)); admin only. Every value is checked before
    anything is written, so a bad one stores nothing. Each rule that changes is audited
    (``escalation.rule_changed``); returns the rules as they now stand."""
    if principal is None or not principal.is_admin:
        raise Forbidden("hanya PPID Utama (admin) yang mengatur aturan eskalasi")
    unknown = sorted(set(changes) - set(RULES))
    if unknown:
        raise Invalid(f"aturan eskalasi tidak dikenal: {', '.join(unknown)}", field=unknown[0])
    wanted = {name: (bool(enabled), parse_threshold(name, raw))
              for name, (enabled, raw) in changes.items()}
    # PostgreSQL: lock the stored rows so two admins saving at once are applied one after the
    # other (and each audit event names the value it really replaced).
    session.execute(select(EscalationRule.name).where(EscalationRule.name.in_(list(wanted)))
                    .with_for_update()).all()
    before = load(session)
    now = utcnow()
    for name in RULES:
        if name not in wanted:
            continue
        enabled, threshold = wanted[name]
        old = before[name]
        if old.stored and (old.enabled, old.threshold) == (enabled, threshold):
            continue
        statement = insert_for(session, EscalationRule).values(
            name=name, threshold=threshold, enabled=enabled, updated_at=now)
        session.execute(statement.on_conflict_do_update(
            index_elements=["name"],
            set_={"threshold": threshold, "enabled": enabled, "updated_at": now}))
        if (old.enabled, old.threshold) != (enabled, threshold):
            record(session, principal, "escalation.rule_changed", detail={
                "rule": name, "old_threshold": old.threshold, "new_threshold": threshold,
                "old_enabled": old.enabled, "new_enabled": enabled,
                "unit": "days" if UNITS[name] == "hari" else "hours"})
    session.expire_all()
    return load(session)
