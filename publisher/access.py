"""Who may see and do what: every query is scoped to the user's OPDs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, true

from .models import GLOBAL_ROLES, Role, User


@dataclass(frozen=True)
class Principal:
    """A signed-in user's identity and roles, copied out of the session."""

    user_id: int
    username: str
    full_name: str
    nip: str
    jabatan: str
    #: role -> OPD ids (None in the set means "every OPD", for admin and auditor)
    roles: dict[str, frozenset[int | None]]

    @classmethod
    def of(cls, user: User) -> Principal:
        """Build from a User row (its memberships are loaded eagerly)."""
        roles: dict[str, set[int | None]] = {}
        for m in user.memberships:
            roles.setdefault(m.role, set()).add(None if m.role in GLOBAL_ROLES else m.opd_id)
        return cls(
            user.id, user.username, user.full_name or user.username, user.nip, user.jabatan,
            {k: frozenset(v) for k, v in roles.items()},
        )

    @property
    def is_admin(self) -> bool:
        """PPID Utama: every OPD, every action."""
        return Role.ADMIN in self.roles

    @property
    def is_auditor(self) -> bool:
        """Read-only everywhere."""
        return Role.AUDITOR in self.roles

    @property
    def sees_everything(self) -> bool:
        """Admins and auditors read every OPD."""
        return self.is_admin or self.is_auditor

    def visible_opds(self) -> frozenset[int] | None:
        """OPD ids the user may read; None means all."""
        if self.sees_everything:
            return None
        ids: set[int] = set()
        for opds in self.roles.values():
            ids.update(o for o in opds if o is not None)
        return frozenset(ids)

    def can_read(self, opd_id: int) -> bool:
        """Whether the user may read things of this OPD."""
        visible = self.visible_opds()
        return visible is None or opd_id in visible

    def has_role(self, opd_id: int, *roles: Role) -> bool:
        """Whether the user holds one of ``roles`` in this OPD (admin holds all)."""
        if self.is_admin:
            return True
        return any(opd_id in self.roles.get(r, frozenset()) for r in roles)

    def holds_any(self, *roles: Role) -> bool:
        """Whether the user holds one of ``roles`` in some OPD (admin holds all)."""
        return self.is_admin or any(self.roles.get(r) for r in roles)

    @property
    def primary_role(self) -> str:
        """The role shown in the audit log."""
        for role in (Role.ADMIN, Role.APPROVER, Role.EDITOR, Role.AUDITOR):
            if role in self.roles:
                return role.value
        return ""

    def scope(self, column: Any) -> ColumnElement[bool]:
        """A WHERE clause limiting ``column`` (an opd_id column) to the visible OPDs."""
        visible = self.visible_opds()
        return true() if visible is None else column.in_(sorted(visible))

    def editable_opds(self) -> Iterable[int] | None:
        """OPD ids the user may draft in (None: all)."""
        if self.is_admin:
            return None
        drafting = self.roles.get(Role.EDITOR, frozenset()) | self.roles.get(
            Role.APPROVER, frozenset()
        )
        return sorted(o for o in drafting if o is not None)
