"""Connecting a Facebook Page (and its Instagram account) from a token, and checking tokens.

An admin pastes a long-lived *user* token (or a Page token). :func:`discover_pages` lists the
Pages it manages with their Page tokens and linked Instagram business accounts, and
:meth:`PageAccount.channel_specs` says what channels to create. The caller stores ``secrets``
encrypted (``publisher.crypto.SecretBox`` → ``Channel.secrets_encrypted``); a Page token is never
returned to users, logged or audited (``PageAccount`` hides it from ``repr``).

A Page token taken from a long-lived user token has no time expiry; it stops working when the
password changes, the permission or the Page role is removed (Graph code 190).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..graph import GraphClient
from ..timeutil import utcnow
from .base import AuthError, Health, PermanentError

#: Permissions each channel needs (meta-graph.md); ``business_management`` only for Pages owned
#: through a Business portfolio, so it is not required.
FACEBOOK_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")
INSTAGRAM_SCOPES = ("pages_show_list", "instagram_basic", "instagram_content_publish")
#: Page tasks that allow posting.
POSTING_TASKS = {"CREATE_CONTENT", "MANAGE"}
ACCOUNT_FIELDS = "id,name,access_token,tasks,instagram_business_account{id,username}"
#: Warn this long before a credential expires.
EXPIRY_WARNING = timedelta(days=7)


@dataclass(frozen=True)
class ChannelSpec:
    """A channel to create: ``secrets`` must be stored encrypted and never shown."""

    kind: str
    name: str
    config: dict[str, Any]
    secrets: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class PageAccount:
    """One Page the token can act on, with its linked Instagram business account if any."""

    page_id: str
    name: str
    page_token: str = field(repr=False)
    tasks: tuple[str, ...] = ()
    ig_user_id: str | None = None
    ig_username: str | None = None

    @property
    def can_post(self) -> bool:
        """Whether the person's role on the Page allows posting (unknown tasks: assume yes)."""
        return not self.tasks or bool(POSTING_TASKS & set(self.tasks))

    def public(self) -> dict[str, Any]:
        """What may be shown to the admin (no token)."""
        return {
            "page_id": self.page_id,
            "name": self.name,
            "tasks": list(self.tasks),
            "can_post": self.can_post,
            "instagram": (
                {"ig_user_id": self.ig_user_id, "username": self.ig_username}
                if self.ig_user_id
                else None
            ),
        }

    def channel_specs(self) -> list[ChannelSpec]:
        """The Facebook channel, plus the Instagram one when an account is linked."""
        secrets = {"page_token": self.page_token}
        specs = [
            ChannelSpec(
                kind="facebook",
                name=f"Facebook: {self.name}",
                config={"page_id": self.page_id, "page_name": self.name},
                secrets=dict(secrets),
            )
        ]
        if self.ig_user_id:
            specs.append(
                ChannelSpec(
                    kind="instagram",
                    name=f"Instagram: @{self.ig_username or self.ig_user_id}",
                    config={
                        "ig_user_id": self.ig_user_id,
                        "ig_username": self.ig_username or "",
                        "page_id": self.page_id,
                    },
                    secrets=dict(secrets),
                )
            )
        return specs


@dataclass(frozen=True)
class TokenInfo:
    """What ``/debug_token`` says about a token."""

    is_valid: bool
    type: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    error: str = ""
    #: False when Meta would not debug the token (it wants an app token): scopes and expiry
    #: are then unknown, and only validity was checked.
    inspected: bool = True


def _moment(value: Any) -> datetime | None:
    """Graph's epoch seconds; 0 means "never"."""
    try:
        seconds = int(value or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def debug_token(graph: GraphClient, token: str) -> TokenInfo:
    """Inspect ``token`` with ``/debug_token``.

    Meta only takes ``input_token`` in the query string, so this one call carries the token in
    its URL (the client redacts it from every error it raises). The credential expiry is the
    earlier of ``expires_at`` and ``data_access_expires_at``, so the warning comes early rather
    than late.
    """
    data = graph.get("debug_token", input_token=token).get("data") or {}
    moments = [m for m in (_moment(data.get("expires_at")),
                           _moment(data.get("data_access_expires_at"))) if m]
    error = data.get("error") or {}
    return TokenInfo(
        is_valid=bool(data.get("is_valid")),
        type=str(data.get("type") or "").upper(),
        scopes=tuple(str(s) for s in data.get("scopes") or ()),
        expires_at=min(moments) if moments else None,
        error=str(error.get("message") or "") if isinstance(error, dict) else "",
    )


def inspect_token(graph: GraphClient, token: str) -> TokenInfo:
    """:func:`debug_token`, or, when Meta refuses to debug with the token itself, its validity
    and kind found by asking it (``/me``; ``/me/accounts`` exists only for user tokens)."""
    try:
        return debug_token(graph, token)
    except PermanentError:
        pass
    graph.get("me", fields="id")  # AuthError when the token is not valid
    try:
        graph.get("me/accounts", fields="id", limit=1)
        kind = "USER"
    except PermanentError:
        kind = "PAGE"
    return TokenInfo(is_valid=True, type=kind, scopes=(), expires_at=None, inspected=False)


def expiry_warning(expires_at: datetime | None, now: datetime | None = None) -> str | None:
    """A warning in Bahasa Indonesia from 7 days before ``expires_at``; None when not due."""
    if expires_at is None:
        return None
    now = now or utcnow()
    left = expires_at - now
    if left <= timedelta(0):
        return "Token Meta sudah kedaluwarsa: sambungkan ulang kanal ini."
    if left <= EXPIRY_WARNING:
        days = max(1, left.days + (1 if left.seconds else 0))
        return (
            f"Token Meta berakhir dalam {days} hari ({expires_at:%Y-%m-%d %H:%M} UTC): "
            "sambungkan ulang kanal ini sebelum tanggal itu agar publikasi tidak tertahan."
        )
    return None


def token_health(graph: GraphClient, token: str, required: tuple[str, ...]) -> Health:
    """Validity, scopes and expiry of a channel's token as a :class:`Health`.

    Auth problems give ``ok=False``; a Graph outage raises TransientError (not a verdict).
    """
    try:
        info = inspect_token(graph, token)
    except AuthError as exc:
        return Health(ok=False, detail=exc.message, reauth=True)
    if not info.inspected:
        return Health(
            ok=True,
            detail="Token berlaku (izin dan tanggal kedaluwarsanya tidak dapat dibaca dari Meta).",
        )
    if not info.is_valid:
        reason = f" ({info.error})" if info.error else ""
        return Health(
            ok=False,
            detail=f"Token Meta tidak berlaku lagi{reason}: sambungkan ulang kanal ini.",
            expires_at=info.expires_at,
            scopes=info.scopes,
            reauth=True,
        )
    missing = [s for s in required if s not in info.scopes]
    if missing:
        return Health(
            ok=False,
            detail=(
                f"Izin Meta belum diberikan: {', '.join(missing)}. Sambungkan ulang kanal ini "
                "dan centang izin tersebut."
            ),
            expires_at=info.expires_at,
            scopes=info.scopes,
            reauth=True,
        )
    warning = expiry_warning(info.expires_at)
    if warning:
        detail = warning
    elif info.expires_at:
        detail = f"Token berlaku sampai {info.expires_at:%Y-%m-%d} UTC."
    else:
        detail = "Token berlaku, tanpa tanggal kedaluwarsa."
    return Health(ok=True, detail=detail, expires_at=info.expires_at, scopes=info.scopes)


@dataclass(frozen=True)
class Connection:
    """The result of :func:`discover_pages`."""

    token_type: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    pages: tuple[PageAccount, ...]
    warnings: tuple[str, ...] = ()


def discover_pages(token: str, settings: Any) -> Connection:
    """Pages (with Page tokens and linked Instagram accounts) that ``token`` can act on.

    ``token`` is a long-lived user token or a Page token. Raises AuthError when it is not valid.
    """
    token = token.strip()
    with GraphClient(token, settings) as graph:
        info = inspect_token(graph, token)
        if not info.is_valid:
            raise AuthError(
                "Token Meta tidak valid atau sudah kedaluwarsa"
                + (f" ({info.error})" if info.error else "")
                + ". Buat token baru (lihat docs/meta.md) lalu coba lagi."
            )
        pages: tuple[PageAccount, ...]
        if info.type == "PAGE":
            me = graph.get("me", fields="id,name,instagram_business_account{id,username}")
            pages = (_account(me, page_token=token),)
        else:
            rows = graph.paged("me/accounts", fields=ACCOUNT_FIELDS, limit=100)
            pages = tuple(_account(r, page_token=str(r.get("access_token") or "")) for r in rows)
    warnings = []
    missing = [s for s in FACEBOOK_SCOPES if s not in info.scopes]
    if not info.inspected:
        warnings.append("Izin dan masa berlaku token tidak dapat dibaca dari Meta; periksa "
                        "sendiri di Access Token Debugger.")
    elif missing:
        warnings.append(f"Izin Facebook belum lengkap: {', '.join(missing)}.")
    if info.inspected and any(p.ig_user_id for p in pages):
        missing_ig = [s for s in INSTAGRAM_SCOPES if s not in info.scopes]
        if missing_ig:
            warnings.append(f"Izin Instagram belum lengkap: {', '.join(missing_ig)}.")
    if not pages:
        warnings.append("Token ini tidak mengelola Halaman Facebook mana pun.")
    warnings += [
        f"Peran Anda di Halaman {p.name} tidak mengizinkan membuat kiriman."
        for p in pages
        if not p.can_post
    ]
    if (warning := expiry_warning(info.expires_at)) is not None:
        warnings.append(warning)
    return Connection(
        token_type=info.type,
        scopes=info.scopes,
        expires_at=info.expires_at,
        pages=pages,
        warnings=tuple(warnings),
    )


def _account(row: dict[str, Any], *, page_token: str) -> PageAccount:
    ig = row.get("instagram_business_account") or {}
    return PageAccount(
        page_id=str(row["id"]),
        name=str(row.get("name") or row["id"]),
        page_token=page_token,
        tasks=tuple(str(t) for t in row.get("tasks") or ()),
        ig_user_id=str(ig["id"]) if ig.get("id") else None,
        ig_username=str(ig["username"]) if ig.get("username") else None,
    )
