"""Bearer-token authentication of the JSON API.

``Authorization: Bearer opdp_…``: the token's shape is checked before any lookup, then its
SHA-256 is looked up in ``api_token``. Unknown, revoked and expired tokens and inactive users
all answer 401. ``last_used_at`` is written at most once a minute per token, in its own short
transaction, so reads do not become writes.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Response, g, request
from sqlalchemy import select, update

from ..access import Principal
from ..app import get_runtime
from ..models import ApiToken, Role, User
from ..security import token_digest, well_formed_token
from ..timeutil import utcnow
from .problems import problem

#: How stale ``last_used_at`` may get before it is written again.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="opd-publisher"'}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _refuse(detail: str, error: str = "invalid_token") -> Response:
    return problem(
        401, detail,
        headers={"WWW-Authenticate": f'Bearer realm="opd-publisher", error="{error}"'},
    )


def authenticate() -> Response | None:
    """Set ``g.principal`` from the bearer token, or answer 401 (403 for auditors writing)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return problem(401, "sertakan header Authorization: Bearer <token API>",
                       headers=_CHALLENGE)
    token = token.strip()
    if scheme.lower() != "bearer" or not well_formed_token(token):
        return _refuse("token API tidak berbentuk benar (harus 'Bearer opdp_…')")
    runtime = get_runtime()
    now = utcnow()
    with runtime.db.read() as session:
        row = session.scalars(
            select(ApiToken).where(ApiToken.token_hash == token_digest(token))
        ).first()
        if row is None:
            return _refuse("token API tidak dikenal")
        if row.revoked_at is not None:
            return _refuse("token API sudah dicabut")
        if row.expires_at is not None and row.expires_at <= now:
            return _refuse("token API sudah kedaluwarsa")
        user = session.get(User, row.user_id)
        if user is None or not user.is_active:
            return _refuse("akun pengguna tidak aktif")
        principal = Principal.of(user)
        token_id, last_used = row.id, row.last_used_at
    if last_used is None or now - last_used >= LAST_USED_RESOLUTION:
        with runtime.db.write() as session:
            session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
    g.principal = principal
    g.token_id = token_id
    if request.method in _WRITE_METHODS and _read_only(principal):
        return problem(403, "auditor hanya dapat membaca (read-only)")
    return None


def _read_only(principal: Principal) -> bool:
    return set(principal.roles) == {Role.AUDITOR}


def current_principal() -> Principal:
    """The authenticated user of this request."""
    principal: Principal = g.principal
    return principal
