"""OPDs, users, roles and API tokens."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Principal
from ..config import ConfigError, validate_timezone
from ..models import GLOBAL_ROLES, ApiToken, Membership, Opd, Role, User
from ..security import MIN_PASSWORD_LENGTH, hash_password, new_api_token
from ..urls import slugify
from . import sessions
from . import text as text_policy
from .auditing import record
from .errors import Conflict, Forbidden, Invalid, NotFound


def _admin_only(principal: Principal | None, what: str) -> None:
    if principal is not None and not principal.is_admin:
        raise Forbidden(f"hanya admin (PPID Utama) yang dapat {what}")


#: NIP of a civil servant (PP 11/2017): 18 digits (birth date, appointment month, sex, number).
NIP_DIGITS = 18
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _text(value: str, field: str, label: str, limit: int) -> str:
    value = text_policy.line(value, field)
    if len(value) > limit:
        raise Invalid(f"{label} paling panjang {limit} karakter", field=field)
    return value


def validate_person(full_name: str, nip: str, jabatan: str, email: str) -> tuple[str, ...]:
    """The identity fields of a user, trimmed, or Invalid naming the field: one layer for the
    CLI, the admin UI and the API."""
    full_name = _text(full_name, "full_name", "nama lengkap", 200)
    jabatan = _text(jabatan, "jabatan", "jabatan", 200)
    nip = (nip or "").replace(" ", "").strip()
    if nip and (len(nip) != NIP_DIGITS or not nip.isascii() or not nip.isdigit()):
        raise Invalid(f"NIP harus {NIP_DIGITS} angka", field="nip")
    email = _text(email, "email", "email", 200)
    if email and not _EMAIL.match(email):
        raise Invalid("alamat email tidak valid", field="email")
    return full_name, nip, jabatan, email


def create_opd(
    session: Session,
    principal: Principal | None,
    name: str,
    *,
    slug: str | None = None,
    timezone: str = "Asia/Jakarta",
    parent: str | int | None = None,
    approval_required: bool = True,
    color: str = "#1f5f8b",
    address: str = "",
) -> Opd:
    """A new OPD (``principal`` None: the CLI acting as the system)."""
    _admin_only(principal, "menambah OPD")
    name = _text(name, "name", "nama OPD", 200)
    address = _text(address, "address", "alamat", 300)
    if not name:
        raise Invalid("nama OPD wajib diisi", field="name")
    if not _COLOR.match(color or ""):
        raise Invalid("warna harus berbentuk #rrggbb", field="color")
    if slug is not None and len(slug) > 80:
        raise Invalid("slug paling panjang 80 karakter", field="slug")
    try:
        validate_timezone(timezone)
    except ConfigError as exc:
        raise Invalid(str(exc), field="timezone") from None
    slug = slugify(slug or name, 80)
    if session.scalar(select(Opd.id).where(Opd.slug == slug)) is not None:
        raise Conflict(f"OPD dengan slug {slug!r} sudah ada", field="slug")
    parent_id = None
    if parent not in (None, ""):
        query = select(Opd).where(
            Opd.id == parent if isinstance(parent, int) else Opd.slug == parent
        )
        parent_row = session.scalars(query).first()
        if parent_row is None:
            raise NotFound(f"OPD induk {parent!r} tidak ditemukan", field="parent")
        parent_id = parent_row.id
    opd = Opd(name=name, slug=slug, timezone=timezone, parent_id=parent_id,
              approval_required=approval_required, color=color, address=address)
    session.add(opd)
    record(session, principal, "opd.created", opd=opd,
           detail={"name": name, "slug": slug, "timezone": timezone, "parent_id": parent_id})
    return opd


def create_user(
    session: Session,
    principal: Principal | None,
    username: str,
    password: str,
    *,
    full_name: str = "",
    nip: str = "",
    jabatan: str = "",
    email: str = "",
    roles: list[tuple[str, int | None]] = (),  # type: ignore[assignment]
    locale: str = "id",
) -> User:
    """A new user with roles ``[(role, opd_id or None)]``."""
    _admin_only(principal, "menambah pengguna")
    username = (username or "").strip().lower()
    if not username or len(username) > 80 or not username.replace(".", "").replace(
        "_", "").replace("-", "").isalnum():
        raise Invalid("nama pengguna: huruf, angka, titik, garis bawah atau tanda hubung",
                      field="username")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter", field="password")
    full_name, nip, jabatan, email = validate_person(full_name, nip, jabatan, email)
    if session.scalar(select(User.id).where(func.lower(User.username) == username)) is not None:
        raise Conflict(f"pengguna {username!r} sudah ada", field="username")
    user = User(username=username, password_hash=hash_password(password), full_name=full_name,
                nip=nip, jabatan=jabatan, email=email, locale=locale)
    session.add(user)
    session.flush()
    for role, opd_id in roles:
        add_role(session, principal, user, role, opd_id)
    record(session, principal, "user.created",
           detail={"user_id": user.id, "username": username, "roles": [list(r) for r in roles]})
    return user


def add_role(
    session: Session, principal: Principal | None, user: User, role: str, opd_id: int | None
) -> Membership:
    """Give ``user`` a role in an OPD (admin/auditor: every OPD)."""
    _admin_only(principal, "mengatur peran")
    if role not in set(Role):
        raise Invalid(f"peran {role!r} tidak dikenal: admin, editor, approver, auditor",
                      field="role")
    if role in GLOBAL_ROLES:
        opd_id = None
    elif opd_id is None or session.get(Opd, opd_id) is None:
        raise Invalid(f"peran {role} memerlukan OPD yang ada", field="opd")
    membership = Membership(user_id=user.id, opd_id=opd_id, role=role)
    user.memberships.append(membership)
    session.flush()
    return membership


def remove_role(
    session: Session, principal: Principal | None, user: User, membership_id: int
) -> None:
    """Take one role away from ``user``; all the user's sessions end (they sign in again with
    what is left)."""
    _admin_only(principal, "mengatur peran")
    membership = next((m for m in user.memberships if m.id == membership_id), None)
    if membership is None:
        raise NotFound(f"peran #{membership_id} tidak ditemukan", field="membership")
    if principal is not None and user.id == principal.user_id and membership.role == Role.ADMIN:
        raise Forbidden("Anda tidak dapat mencabut peran admin Anda sendiri")
    user.memberships.remove(membership)
    record(session, principal, "user.role_removed",
           detail={"user_id": user.id, "username": user.username, "role": membership.role,
                   "opd_id": membership.opd_id})
    sessions.end_all(session, principal, user.id, reason="role_removed")


def set_active(session: Session, principal: Principal | None, user: User, active: bool) -> None:
    """Deactivate (every session ends) or reactivate a user."""
    _admin_only(principal, "mengubah status pengguna")
    if not active and principal is not None and user.id == principal.user_id:
        raise Forbidden("Anda tidak dapat menonaktifkan akun sendiri")
    user.is_active = active
    record(session, principal, "user.activated" if active else "user.deactivated",
           detail={"user_id": user.id, "username": user.username})
    if not active:
        sessions.end_all(session, principal, user.id, reason="deactivated")


def create_token(
    session: Session, principal: Principal, user_id: int, name: str = ""
) -> tuple[ApiToken, str]:
    """A new API token for ``user_id`` (yourself, or anyone for admins); the plain token is
    returned once and never stored."""
    if user_id != principal.user_id and not principal.is_admin:
        raise Forbidden("Anda hanya dapat membuat token untuk diri sendiri")
    if session.get(User, user_id) is None:
        raise NotFound(f"pengguna #{user_id} tidak ditemukan", field="user_id")
    token, prefix, digest = new_api_token()
    name = _text(name, "name", "nama token", 100)
    row = ApiToken(user_id=user_id, name=name, prefix=prefix, token_hash=digest)
    session.add(row)
    record(session, principal, "token.created",
           detail={"user_id": user_id, "prefix": prefix, "name": name})
    return row, token


def describe_user(user: User) -> dict[str, Any]:
    """Public fields of a user (never the password hash)."""
    return {
        "id": user.id, "username": user.username, "full_name": user.full_name, "nip": user.nip,
        "jabatan": user.jabatan, "email": user.email, "is_active": user.is_active,
        "roles": [{"role": m.role, "opd_id": m.opd_id} for m in user.memberships],
    }
