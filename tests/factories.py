"""Test data built through the real services (so the audit chain is real too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from publisher.access import Principal
from publisher.models import Item, Opd, Role, User
from publisher.queue.dispatcher import Dispatcher
from publisher.runtime import Runtime
from publisher.services import admin, channels, items
from publisher.timeutil import utcnow

PASSWORD = "rahasia-sekali-123"


@dataclass
class Person:
    """A user with a principal and (optionally) an API token."""

    user_id: int
    username: str
    principal: Principal
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    """Short ways to make realistic rows."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._n = 0

    def _next(self) -> int:
        self._n += 1
        return self._n

    def opd(self, name: str | None = None, **kw: Any) -> Opd:
        with self.runtime.db.write() as s:
            kw.setdefault("approval_required", True)
            return admin.create_opd(s, None, name or f"Dinas Uji {self._next()}", **kw)

    def person(self, role: str, opd: Opd | None = None, username: str | None = None,
               token: bool = True, **kw: Any) -> Person:
        username = username or f"{role}{self._next()}"
        with self.runtime.db.write() as s:
            user = admin.create_user(
                s, None, username, PASSWORD, full_name=kw.pop("full_name", username.title()),
                nip=kw.pop("nip", "198001012010011001"), jabatan=kw.pop("jabatan", role),
                roles=[(role, opd.id if opd else None)], **kw,
            )
            principal = Principal.of(user)
            plain = ""
            if token:
                _row, plain = admin.create_token(s, principal, user.id, "test")
        return Person(user.id, username, principal, plain)

    def principal(self, user_id: int) -> Principal:
        with self.runtime.db.read() as s:
            return Principal.of(s.get_one(User, user_id))

    def channel(self, opd: Opd, kind: str = "site", name: str | None = None, **kw: Any):
        admin_person = self.admin()
        with self.runtime.db.write() as s:
            return channels.create_channel(
                s, admin_person.principal, self.runtime, opd.id, kind, name or f"{kind} uji", **kw
            )

    _admin: Person | None = None

    def admin(self) -> Person:
        if self._admin is None:
            self._admin = self.person(Role.ADMIN, username=f"admin{self._next()}")
        return self._admin

    def item(self, author: Person, opd: Opd, channel_ids: list[int], *,
             schedule: dict[str, Any] | None = None, **data: Any) -> Item:
        data.setdefault("title", f"Informasi uji {self._next()}")
        data.setdefault("body_html", "<p>Isi informasi publik.</p>")
        data.setdefault("category", "berkala")
        with self.runtime.db.write() as s:
            return items.create_item(s, author.principal, self.runtime.settings, opd.id, data,
                                     channel_ids=channel_ids, schedule=schedule)

    def published_item(self, author: Person, approver: Person, opd: Opd,
                       channel_ids: list[int], **data: Any) -> Item:
        """An item drafted, submitted and approved (due now)."""
        item = self.item(author, opd, channel_ids, **data)
        with self.runtime.db.write() as s:
            items.submit_item(s, author.principal, self.runtime.settings, item.id)
        with self.runtime.db.write() as s:
            return items.approve_item(s, approver.principal, self.runtime.settings, item.id)

    def in_a_minute(self) -> dict[str, Any]:
        return {"mode": "at", "at": (utcnow() + timedelta(minutes=1)).isoformat()}

    def dispatcher(self, worker_id: str = "test-worker") -> Dispatcher:
        return Dispatcher(self.runtime, worker_id)
