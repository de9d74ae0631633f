"""Row fingerprints in the audit log: the rows whose every change must be on the record.

The hash chain proves recorded events were not changed, and the state replay
(:mod:`publisher.audit_state`) checks statuses; neither sees a row edited with no event: a DIK
entry's status, an item quietly unlinked from the DIK, an approved DIK version's text, a
deleted entry, a role or a membership added by hand. So every time the software writes one of
the tracked rows (:data:`TRACKED`), an ``audit.row`` event records a fingerprint of its
audited columns (SHA-256 over their canonical values), or that it was deleted; ``audit
verify`` recomputes the fingerprint of every current row and names each that disagrees with
its last event, has none, or is gone.

This happens by itself: a Session hook records the rows each flush changed, so no service can
forget it. Writes that bypass the ORM on these tables must call :func:`row_events` themselves
(the bench seeder does).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, Integer, Select, event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql.type_api import TypeEngine

from .models import Channel, Designation, DikEntry, DikVersion, Item, Membership, User

ACTION = "audit.row"
DELETED = "deleted"

#: Tracked models and their audited columns (volatile ones, such as last-checked times or a
#: channel's health and status written by the queue, are left out).
TRACKED: dict[type[Any], tuple[str, ...]] = {
    Item: ("opd_id", "title", "body_html", "summary", "category", "dik_entry_id",
           "dik_redacted", "exemption_article"),
    DikEntry: ("opd_id", "status", "approved_version", "latest_version", "conclusion"),
    DikVersion: ("entry_id", "version", "status", "title", "description", "documents",
                 "article", "legal_basis", "holder_unit", "period_start", "period_end",
                 "until_event", "review_date", "harm", "public_interest", "weighing",
                 "conclusion", "members", "place", "test_date", "number", "content_hash"),
    Designation: ("opd_id", "office", "user_id", "name", "nip", "jabatan"),
    User: ("username", "full_name", "nip", "jabatan", "email", "password_hash", "is_active"),
    Membership: ("user_id", "opd_id", "role"),
    Channel: ("opd_id", "kind", "name", "config", "secrets_encrypted", "schedule",
              "min_interval_seconds"),
}
TABLES = {model.__tablename__: model for model in TRACKED}


def _canonical(kind: TypeEngine[Any], value: Any) -> Any:
    """A column value as the fingerprint sees it, the same from the ORM and from a row."""
    if value is None:
        return None
    if isinstance(kind, Boolean):
        return bool(value)
    if isinstance(kind, Integer):
        return int(value)
    if isinstance(kind, DateTime | Date) or isinstance(value, date | datetime):
        return value.isoformat() if isinstance(value, date | datetime) else str(value)
    if isinstance(value, dict | list):
        return value
    return str(value)


def fingerprint(model: type[Any], values: Mapping[str, Any]) -> str:
    """SHA-256 (hex, 32 characters) of a row's audited ``values`` of ``model``."""
    columns = model.__table__.columns
    doc = [_canonical(columns[name].type, values.get(name)) for name in TRACKED[model]]
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _opd_of(model: type[Any], values: Mapping[str, Any]) -> int | None:
    opd = values.get("opd_id")
    return int(opd) if opd is not None else None


def make(actor: Any, model: type[Any], row_id: int, values: Mapping[str, Any] | None,
         at: datetime | None = None) -> dict[str, Any]:
    """The ``audit.row`` event of one row (``values`` None: it was deleted)."""
    from . import audit

    table = model.__tablename__
    return audit.make_event(
        actor, ACTION, at=at, opd_id=_opd_of(model, values or {}), result=table,
        detail={"table": table, "id": row_id,
                "fp": DELETED if values is None else fingerprint(model, values)},
    )


def row_events(conn: Connection | Session, model: type[Any], ids: Iterable[int], actor: Any,
               at: datetime | None = None) -> list[dict[str, Any]]:
    """``audit.row`` events for rows of ``model`` written outside the ORM (read back here)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    columns = [model.__table__.c.id, *(model.__table__.c[name] for name in TRACKED[model])]
    rows = conn.execute(select(*columns).where(model.__table__.c.id.in_(wanted)))
    return [make(actor, model, row.id, dict(row._mapping), at) for row in rows]


def current(conn: Connection | Session, model: type[Any]) -> Iterator[tuple[int, str]]:
    """(id, fingerprint) of every row of ``model`` as the database holds it now."""
    columns = [model.__table__.c.id, *(model.__table__.c[name] for name in TRACKED[model])]
    query: Select[Any] = select(*columns).order_by(model.__table__.c.id)
    for row in conn.execute(query.execution_options(yield_per=5000)):
        yield row.id, fingerprint(model, dict(row._mapping))


# --- recording every ORM write ----------------------------------------------------------------


def _changed(obj: Any, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    from . import audit

    actor = session.info.get("audit_actor") or audit.Actor.system("software")
    events = []
    for obj in session.new:
        model = type(obj)
        if model in TRACKED:
            events.append(make(actor, model, obj.id, _values(obj, model)))
    for obj in session.dirty:
        model = type(obj)
        if model in TRACKED and _changed(obj, TRACKED[model]):
            events.append(make(actor, model, obj.id, _values(obj, model)))
    for obj in session.deleted:
        model = type(obj)
        if model in TRACKED:
            events.append(make(actor, model, obj.id, None))
    if events:
        audit.append(session, events)


def _values(obj: Any, model: type[Any]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in TRACKED[model]}


event.listen(Session, "after_flush", _after_flush)
