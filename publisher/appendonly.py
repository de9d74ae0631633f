"""Database triggers that refuse UPDATE and DELETE on the audit log (append-only).

The hash chain detects tampering by anyone who bypasses these (a superuser can drop a
trigger); the triggers stop accidents and the application itself from rewriting history.
"""

from __future__ import annotations

from sqlalchemy import DDL, event

from .models import AuditEvent

_SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event "
    "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
]
_POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_event is append-only'; END; $$ LANGUAGE plpgsql",
    "DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
]


def statements(dialect: str) -> list[str]:
    """The trigger DDL for a backend."""
    return _SQLITE if dialect == "sqlite" else _POSTGRES if dialect == "postgresql" else []


for _sql in _SQLITE:
    event.listen(AuditEvent.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in _POSTGRES:
    event.listen(AuditEvent.__table__, "after_create", DDL(_sql).execute_if(dialect="postgresql"))
