"""Who hears about what: the people of an OPD by role, and the PPID Utama.

Each works on a Connection (the queue's raw path) or a Session (the services)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from ..models import Membership, Role, User


def opd_people(conn: Connection | Session, opd_id: int,
               roles: Iterable[str] = (Role.APPROVER,)) -> list[int]:
    """Active users with one of ``roles`` in OPD ``opd_id`` (sorted ids)."""
    rows = conn.execute(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.opd_id == opd_id, Membership.role.in_([str(r) for r in roles]),
               User.is_active.is_(True))
        .distinct()).scalars().all()
    return sorted(rows)


def ppid_utama(conn: Connection | Session) -> list[int]:
    """Active users with the admin role (PPID Utama, Diskominfo), sorted ids."""
    rows = conn.execute(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.role == Role.ADMIN, User.is_active.is_(True))
        .distinct()).scalars().all()
    return sorted(rows)


class People:
    """:func:`opd_people` read once per (OPD, roles) while one transaction lasts."""

    def __init__(self, conn: Connection | Session) -> None:
        self.conn = conn
        self._found: dict[tuple[int, tuple[str, ...]], list[int]] = {}

    def __call__(self, opd_id: int, roles: tuple[str, ...]) -> list[int]:
        key = (opd_id, roles)
        if key not in self._found:
            self._found[key] = opd_people(self.conn, opd_id, roles)
        return self._found[key]
