"""Server-side sessions of the admin UI and ending them.

A sign-in creates a ``UserSession`` row; the browser's signed cookie carries the random id, the
database keeps only its SHA-256. Signing out revokes the row, so a copy of the cookie stops
working. A password change ends the user's other sessions, a removed role or a deactivated
account ends all of them, and an admin can end them by hand; each of those is an audit event
(``user.sessions_ended``, with counts, never ids or hashes).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..access import Principal
from ..models import ApiToken, User, UserSession
from ..security import token_digest
from ..timeutil import utcnow
from .auditing import record
from .errors import Forbidden, NotFound

#: ``last_seen_at`` is written at most this often per session (not on every request).
TOUCH_EVERY = timedelta(minutes=1)
_MAX_TOKEN_LENGTH = 100

#: Browser names, most specific first (Edge and Opera also say Chrome, Chrome says Safari).
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"),
             ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def start(session: Session, user_id: int, *, user_agent: str, ip_address: str
          ) -> tuple[UserSession, str]:
    """A new session for ``user_id``: the row and the random id (given to the browser only)."""
    token = secrets.token_urlsafe(32)
    row = UserSession(user_id=user_id, token_hash=token_digest(token),
                      user_agent=user_agent[:200], ip_address=ip_address[:45])
    session.add(row)
    session.flush()
    return row, token


def find_active(session: Session, token: str) -> UserSession | None:
    """The unrevoked session whose id is ``token``, else None."""
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    row = session.scalars(
        select(UserSession).where(UserSession.token_hash == token_digest(token))).first()
    return row if row is not None and row.revoked_at is None else None


def needs_touch(row: UserSession, now: datetime | None = None) -> bool:
    """Whether ``last_seen_at`` is old enough to be written again."""
    return (now or utcnow()) - row.last_seen_at >= TOUCH_EVERY


def touch(session: Session, session_id: int) -> None:
    """Record that the session was used now."""
    session.execute(update(UserSession).where(UserSession.id == session_id)
                    .values(last_seen_at=utcnow()))


def sign_out(session: Session, session_id: int) -> None:
    """Revoke the current session (logout)."""
    session.execute(update(UserSession).where(
        UserSession.id == session_id, UserSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def active_sessions(session: Session, user_id: int) -> list[UserSession]:
    """The user's unrevoked sessions, most recently used first."""
    return list(session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def end_all(session: Session, principal: Principal | None, user_id: int, *, reason: str,
            keep: int | None = None) -> int:
    """Revoke every session of ``user_id`` except ``keep``; one audit event with the count."""
    rows = [r for r in active_sessions(session, user_id) if r.id != keep]
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    record(session, principal, "user.sessions_ended",
           detail={"user_id": user_id, "count": len(rows), "reason": reason,
                   "kept_current": keep is not None})
    return len(rows)


def end_other(session: Session, principal: Principal, session_id: int, current: int) -> None:
    """The signed-in user ends one of their other sessions (from the account page)."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != principal.user_id or row.revoked_at is not None:
        raise NotFound("sesi tidak ditemukan")
    if row.id == current:
        raise Forbidden("sesi ini diakhiri dengan tombol Keluar")
    row.revoked_at = utcnow()
    record(session, principal, "user.sessions_ended",
           detail={"user_id": principal.user_id, "count": 1, "reason": "ended_by_user",
                   "kept_current": True})


def end_by_admin(session: Session, principal: Principal, user_id: int,
                 current: int | None) -> int:
    """An admin ends a user's sessions (their own current one stays)."""
    if not principal.is_admin:
        raise Forbidden("hanya admin (PPID Utama) yang dapat mengakhiri sesi pengguna lain")
    if session.get(User, user_id) is None:
        raise NotFound(f"pengguna #{user_id} tidak ditemukan")
    keep = current if user_id == principal.user_id else None
    return end_all(session, principal, user_id, reason="ended_by_admin", keep=keep)


def revoke_api_tokens(session: Session, principal: Principal | None, user_id: int) -> int:
    """Revoke every API token of ``user_id``; one audit event naming their display prefixes."""
    rows = list(session.scalars(select(ApiToken).where(
        ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))
    now = utcnow()
    for row in rows:
        row.revoked_at = now
    record(session, principal, "token.revoked",
           detail={"user_id": user_id, "count": len(rows), "prefixes": [r.prefix for r in rows]})
    return len(rows)


def browser_label(user_agent: str) -> str:
    """``Firefox · Linux`` from a User-Agent header (``?`` for parts not recognised)."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "?")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "?")
    return f"{browser} · {system}"
