"""Every table of the service. Everything a user cares about is a row (design.md).

Statuses are stored as short strings; the enums below list the allowed values and are the
only place to read them from.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, UTCDateTime
from .timeutil import utcnow


class Role(StrEnum):
    """What a user may do, per OPD (admin and auditor reach every OPD)."""

    ADMIN = "admin"  # PPID Utama (Diskominfo): every OPD
    EDITOR = "editor"  # operator: drafts in own OPD
    APPROVER = "approver"  # PPID Pelaksana / atasan: approves in own OPD
    AUDITOR = "auditor"  # read-only everywhere


GLOBAL_ROLES = frozenset({Role.ADMIN, Role.AUDITOR})


class Category(StrEnum):
    """KIP category of an item (UU 14/2008 Pasal 9, 10, 11, 17)."""

    BERKALA = "berkala"
    SERTA_MERTA = "serta_merta"
    SETIAP_SAAT = "setiap_saat"
    DIKECUALIKAN = "dikecualikan"


#: Pasal 17 letters a–j.
EXEMPTION_ARTICLES = tuple("abcdefghij")

#: Bentuk informasi in the DIP.
INFO_FORMATS = ("cetak", "rekam", "online")


class ItemStatus(StrEnum):
    """Workflow state of an item (publications carry their own state per channel)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for approval
    APPROVED = "approved"  # fanned out to publications
    RETURNED = "returned"  # sent back to the drafter with a comment
    CANCELLED = "cancelled"


class ScheduleMode(StrEnum):
    """When an approved item goes out."""

    NOW = "now"
    AT = "at"  # a given time (stored UTC)
    NEXT_SLOT = "next_slot"  # next free slot of each channel's weekly posting schedule


class PublicationStatus(StrEnum):
    """The status machine of design.md."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    PROCESSING = "processing"
    PUBLISHED = "published"
    RETRYING = "retrying"
    FAILED = "failed"
    HELD = "held"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    #: Attempts ran out while a write may have reached the platform: never ``failed`` while the
    #: post may exist; it keeps reconciling on a slow schedule and the OPD is asked to check.
    UNCONFIRMED = "unconfirmed"


#: Publications a worker may claim when due.
CLAIMABLE = (
    PublicationStatus.SCHEDULED, PublicationStatus.RETRYING, PublicationStatus.PROCESSING,
    PublicationStatus.UNCONFIRMED,
)
#: The claimable predicate as literal SQL: the partial claim index is used only when a query
#: repeats it word for word (SQLite cannot match bound parameters against an index predicate).
#: Written with OR, not IN: SQLite evaluates an index predicate for the old and the new row of
#: every UPDATE, and builds a temporary b-tree for an IN list of three constants each time.
CLAIMABLE_SQL = (
    "(status = 'scheduled' OR status = 'retrying' OR status = 'processing' "
    "OR status = 'unconfirmed')"
)
#: Publications a user may still cancel or reschedule (sending has not started).
CANCELLABLE = (PublicationStatus.SCHEDULED, PublicationStatus.RETRYING, PublicationStatus.HELD)
#: States that never change again.
FINAL = (PublicationStatus.PUBLISHED, PublicationStatus.CANCELLED, PublicationStatus.BLOCKED)


class ChannelStatus(StrEnum):
    """Whether a channel may be sent to."""

    ACTIVE = "active"
    PAUSED = "paused"
    NEEDS_REAUTH = "needs_reauth"


class Priority:
    """Claim order: serta-merta first."""

    NORMAL = 0
    SERTA_MERTA = 100


class Opd(Base):
    """An Organisasi Perangkat Daerah (dinas, badan, kecamatan, desa) or the Pemda itself."""

    __tablename__ = "opd"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Jakarta")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("opd.id"), index=True)
    approval_required: Mapped[bool] = mapped_column(Boolean, default=True)
    color: Mapped[str] = mapped_column(String(9), default="#1f5f8b")
    description: Mapped[str] = mapped_column(Text, default="")
    #: Street address for the kop of documents it signs (berita acara, penetapan DIK).
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Opd | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Opd]] = relationship(back_populates="parent")


class User(Base):
    """A person who signs in (operator, PPID, Diskominfo, auditor)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    nip: Mapped[str] = mapped_column(String(30), default="")
    jabatan: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str] = mapped_column(String(5), default="id")
    #: The Telegram chat (private or group) linked with a one-time code; None: not linked.
    telegram_chat_id: Mapped[str | None] = mapped_column(String(40))
    telegram_chat_title: Mapped[str] = mapped_column(String(200), default="")
    #: The hour (0-23, the person's OPD zone) at which the daily digest goes out.
    digest_hour: Mapped[int] = mapped_column(Integer, default=7)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )


class Membership(Base):
    """A user's role in one OPD; admin and auditor rows have no OPD (they reach every OPD)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "opd_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    opd_id: Mapped[int | None] = mapped_column(ForeignKey("opd.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(Base):
    """A signed-in browser of the admin UI; only the SHA-256 of its random id is stored.

    Signing out, a password change, a removed role or a deactivated user set ``revoked_at``,
    after which the cookie that carries the id no longer signs anyone in."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Channel(Base):
    """A place an OPD publishes to (its public site page, a webhook, a Facebook Page, ...)."""

    __tablename__ = "channel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=ChannelStatus.ACTIVE)
    status_detail: Mapped[str] = mapped_column(Text, default="")
    #: Non-secret settings (URLs, page ids, options).
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Secrets (tokens, passwords), encrypted at rest; see publisher.crypto.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text)
    #: Weekly posting schedule: [{"days": [0..6 Monday=0], "times": ["08:00", "12:00"]}].
    schedule: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    min_interval_seconds: Mapped[int] = mapped_column(Integer, default=0)
    health_ok: Mapped[bool | None] = mapped_column(Boolean)
    health_detail: Mapped[str] = mapped_column(Text, default="")
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    credential_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    opd: Mapped[Opd] = relationship()


item_target = Table(
    "item_target",
    Base.metadata,
    Column("item_id", ForeignKey("item.id", ondelete="CASCADE"), primary_key=True),
    Column("channel_id", ForeignKey("channel.id"), primary_key=True),
)


class Item(Base):
    """One piece of public information, with the DIP columns and its KIP category."""

    __tablename__ = "item"
    __table_args__ = (
        # Admin UI dashboard: berkala items not refreshed for 6 months.
        Index("ix_item_category_status_updated", "category", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    body_html: Mapped[str] = mapped_column(Text, default="")
    # DIP columns (Perki 1/2021)
    summary: Mapped[str] = mapped_column(Text, default="")  # ringkasan isi informasi
    official_unit: Mapped[str] = mapped_column(String(300), default="")  # pejabat/unit
    responsible: Mapped[str] = mapped_column(String(300), default="")  # penanggung jawab
    made_at: Mapped[date | None] = mapped_column(Date)  # waktu pembuatan
    made_place: Mapped[str] = mapped_column(String(200), default="")  # tempat pembuatan
    info_formats: Mapped[list[str]] = mapped_column(JSON, default=list)  # cetak/rekam/online
    retention: Mapped[str] = mapped_column(String(200), default="")  # jangka waktu penyimpanan
    category: Mapped[str] = mapped_column(String(20), default=Category.BERKALA)
    # Exemption (only for dikecualikan)
    exemption_article: Mapped[str | None] = mapped_column(String(1))  # Pasal 17 letter
    exemption_basis: Mapped[str] = mapped_column(Text, default="")
    exemption_until: Mapped[date | None] = mapped_column(Date)
    link: Mapped[str] = mapped_column(String(1000), default="")
    #: The DIK entry that exempts this item (it is then dikecualikan), or — with
    #: ``dik_redacted`` — the entry this item is the blacked-out version of (dibuka sebagian).
    dik_entry_id: Mapped[int | None] = mapped_column(ForeignKey("dik_entry.id"), index=True)
    dik_redacted: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.DRAFT, index=True)
    schedule_mode: Mapped[str] = mapped_column(String(20), default=ScheduleMode.NOW)
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    review_comment: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20), default="api")  # ui, api, feed, import
    source_ref: Mapped[str] = mapped_column(String(1000), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    opd: Mapped[Opd] = relationship()
    targets: Mapped[list[Channel]] = relationship(secondary=item_target, lazy="selectin")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    media: Mapped[list[Media]] = relationship(
        back_populates="item", order_by="Media.position", lazy="selectin"
    )
    dik_entry: Mapped[DikEntry | None] = relationship()



class ItemVersion(Base):
    """A snapshot of an item at each change, so the audit's version hash can be checked."""

    __tablename__ = "item_version"
    __table_args__ = (UniqueConstraint("item_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Media(Base):
    """An uploaded image (or file) with its alt text; served publicly by an unguessable token."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(300))
    mime_type: Mapped[str] = mapped_column(String(100))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    alt_text: Mapped[str] = mapped_column(Text, default="")
    original_filename: Mapped[str] = mapped_column(String(300), default="")
    public_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    item: Mapped[Item | None] = relationship(back_populates="media")


class Publication(Base):
    """One item on one channel: the unit the queue claims, sends, retries and records."""

    __tablename__ = "publication"
    __table_args__ = (
        UniqueConstraint("item_id", "channel_id"),
        # Claim order (priority, then due time) over claimable rows only; the claim query's
        # WHERE repeats this predicate exactly so SQLite and PostgreSQL use the partial index.
        Index(
            "ix_publication_claim",
            text("priority DESC"),
            "due_at",
            sqlite_where=text(CLAIMABLE_SQL),
            postgresql_where=text(CLAIMABLE_SQL),
        ),
        Index("ix_publication_status_due", "status", "due_at"),
        Index("ix_publication_lease", "status", "lease_until"),
        # Admin UI: queue and calendar order/filter by due time, overall and per OPD.
        Index("ix_publication_due", "due_at"),
        Index("ix_publication_opd_due", "opd_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=PublicationStatus.SCHEDULED)
    priority: Mapped[int] = mapped_column(Integer, default=Priority.NORMAL)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    #: A send may have reached the platform and no reconciliation has completed since: ask
    #: the platform before any further write (cleared only by a completed reconciliation).
    needs_reconcile: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The fencing token: the lease generation, raised by every claim and every sweep. A
    #: worker sends only while its claim's token is current and its result is applied only
    #: where the token still matches.
    fence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Work the platform finishes later (e.g. an Instagram container id), kept between checks.
    processing_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    fingerprint: Mapped[str] = mapped_column(String(100), default="")
    sent_hash: Mapped[str] = mapped_column(String(64), default="")
    remote_id: Mapped[str | None] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    error_kind: Mapped[str | None] = mapped_column(String(20))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    item: Mapped[Item] = relationship()
    channel: Mapped[Channel] = relationship()


class PostTemplate(Base):
    """An OPD's own post template for one channel kind (e.g. a KIP footer, hashtags)."""

    __tablename__ = "post_template"
    __table_args__ = (UniqueConstraint("opd_id", "channel_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"))
    channel_kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """One entry of the append-only, hash-chained audit log (see publisher.audit)."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    at_local: Mapped[str] = mapped_column(String(40))
    actor_type: Mapped[str] = mapped_column(String(10))  # user, worker, system
    actor_id: Mapped[str] = mapped_column(String(100), default="")
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    actor_role: Mapped[str] = mapped_column(String(20), default="")
    action: Mapped[str] = mapped_column(String(60))
    opd_id: Mapped[int | None] = mapped_column(Integer, index=True)
    item_id: Mapped[int | None] = mapped_column(Integer, index=True)
    item_version_hash: Mapped[str] = mapped_column(String(64), default="")
    category: Mapped[str] = mapped_column(String(20), default="")
    publication_id: Mapped[int | None] = mapped_column(Integer, index=True)
    channel_id: Mapped[int | None] = mapped_column(Integer)
    channel_kind: Mapped[str] = mapped_column(String(40), default="")
    result: Mapped[str] = mapped_column(String(40), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip (one row), locked by every appender so the chain stays a line."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64))


class IdempotencyRecord(Base):
    """The stored answer to a POST made with an ``Idempotency-Key``."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkerHeartbeat(Base):
    """Each running scheduler process, so the UI can show workers' health."""

    __tablename__ = "worker_heartbeat"

    worker_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)


class FeedSource(Base):
    """An OPD website's RSS/Atom feed whose new entries become items (cross-posting).

    Polling is a claimed row: a worker takes a due source (``next_poll_at``) with a lease, so
    any number of workers poll each feed once per interval (see publisher.feeds).
    """

    __tablename__ = "feed_source"
    __table_args__ = (Index("ix_feed_source_due", "enabled", "next_poll_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(1000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Channel ids (of the same OPD) each new entry is published to.
    target_channel_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Jinja (sandboxed) template of the item body from the entry; empty: the built-in one.
    body_template: Mapped[str] = mapped_column(Text, default="")
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Post an entry whose text was seen before when it comes under a new GUID with a newer
    #: date (a weekly schedule that reads the same every week); off by default.
    recurring: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    category: Mapped[str] = mapped_column(String(20), default=Category.BERKALA)
    poll_interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    next_poll_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    #: False until the first successful poll, which only records what is there (no flood).
    seeded: Mapped[bool] = mapped_column(Boolean, default=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    opd: Mapped[Opd] = relationship()


class FeedEntrySeen(Base):
    """An entry a feed source has shown once; keyed by GUID (or link) and content hash."""

    __tablename__ = "feed_entry_seen"
    __table_args__ = (
        UniqueConstraint("source_id", "key_hash"),
        Index("ix_feed_entry_seen_content", "source_id", "content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_source.id", ondelete="CASCADE"))
    #: SHA-256 of the entry key (GUID, else link, else content hash), for the unique index.
    key_hash: Mapped[str] = mapped_column(String(64))
    entry_key: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300), default="")
    link: Mapped[str] = mapped_column(String(1000), default="")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The item made from it (None: recorded at seeding, or skipped).
    item_id: Mapped[int | None] = mapped_column(ForeignKey("item.id", ondelete="SET NULL"))
    #: Why it was recorded without being posted (feeds.rules.SKIP_REASONS); None: posted.
    skip_reason: Mapped[str | None] = mapped_column(String(40))


# --- Daftar Informasi yang Dikecualikan (DIK) ------------------------------------------------


class DikStatus(StrEnum):
    """Where a DIK entry stands. An entry takes effect only once a version is approved."""

    DRAFT = "draft"
    SUBMITTED = "submitted"  # waiting for the atasan PPID's pengesahan
    RETURNED = "returned"  # sent back with a comment
    IN_FORCE = "berlaku"  # approved, concluded ditutup or dibuka sebagian
    OPENED = "dibuka"  # approved test concluded dibuka, or reopened at a review
    ENDED = "berakhir"  # the exemption period is over


#: Entries whose information must not go out (an entry in preparation counts: it was made
#: because someone holds the information to be exempt).
DIK_BLOCKING = (DikStatus.DRAFT, DikStatus.SUBMITTED, DikStatus.RETURNED, DikStatus.IN_FORCE)


class DikVersionStatus(StrEnum):
    """A version of the uji konsekuensi: drafted, signed, approved, then superseded."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class DikConclusion(StrEnum):
    """The conclusion of an uji konsekuensi (Perki 1/2021)."""

    CLOSED = "ditutup"
    OPEN = "dibuka"
    PARTIAL = "dibuka_sebagian"  # opened with the exempt parts blacked out


class DikEntry(Base):
    """One kind of exempted information of an OPD; its content lives in versions."""

    __tablename__ = "dik_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=DikStatus.DRAFT, index=True)
    #: The version in force (approved); None until the first pengesahan.
    approved_version: Mapped[int | None] = mapped_column(Integer)
    #: The newest version (the one being drafted or signed when above approved_version).
    latest_version: Mapped[int] = mapped_column(Integer, default=1)
    #: The approved version's conclusion (read by the sender's check before each send).
    conclusion: Mapped[str | None] = mapped_column(String(20))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    opd: Mapped[Opd] = relationship()
    versions: Mapped[list[DikVersion]] = relationship(
        back_populates="entry", order_by="DikVersion.version", lazy="selectin")


class DikVersion(Base):
    """One uji konsekuensi of an entry, as the Perki 1/2021 sheet has it. Never overwritten
    once submitted: a re-test is a new version."""

    __tablename__ = "dik_version"
    __table_args__ = (UniqueConstraint("entry_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("dik_entry.id", ondelete="CASCADE"),
                                          index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=DikVersionStatus.DRAFT)
    # the information
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[str] = mapped_column(Text, default="")
    article: Mapped[str] = mapped_column(String(1))  # Pasal 17 letter a–j
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    holder_unit: Mapped[str] = mapped_column(String(300), default="")
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    until_event: Mapped[str] = mapped_column(String(300), default="")
    review_date: Mapped[date | None] = mapped_column(Date)
    # the test
    harm: Mapped[str] = mapped_column(Text, default="")
    public_interest: Mapped[str] = mapped_column(Text, default="")
    weighing: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(String(20), default=DikConclusion.CLOSED)
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    place: Mapped[str] = mapped_column(String(200), default="")
    test_date: Mapped[date | None] = mapped_column(Date)
    # the signature chain (names, NIP and jabatan copied when signed)
    drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approver: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    return_comment: Mapped[str] = mapped_column(Text, default="")
    number: Mapped[str] = mapped_column(String(100), default="")  # nomor berita acara
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    entry: Mapped[DikEntry] = relationship(back_populates="versions")


class Designation(Base):
    """Who holds an office an OPD's documents name: the atasan PPID (Kepala OPD; for the Pemda
    itself the Sekda), who approves its DIK entries."""

    __tablename__ = "official_designation"
    __table_args__ = (UniqueConstraint("opd_id", "office"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opd_id: Mapped[int] = mapped_column(ForeignKey("opd.id"))
    office: Mapped[str] = mapped_column(String(30))  # "atasan_ppid"
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    name: Mapped[str] = mapped_column(String(200))
    nip: Mapped[str] = mapped_column(String(30))
    jabatan: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()


class DayOff(Base):
    """A Pemda's own day off (Hari Jadi, a local holiday) or, with ``working``, a day worked
    that would be off; read by :mod:`publisher.workdays` with the national calendar."""

    __tablename__ = "day_off"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    working: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DailyJob(Base):
    """A job that runs once a day for the whole cluster: the worker whose conditional UPDATE
    moves ``last_day`` to today runs it, in the same transaction."""

    __tablename__ = "daily_job"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    last_day: Mapped[date | None] = mapped_column(Date)
    claimed_by: Mapped[str] = mapped_column(String(100), default="")
    ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# --- notifications ---------------------------------------------------------------------------


class NotificationStatus(StrEnum):
    """Where a notification stands; an in-app one is delivered when written."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker, leased
    RETRYING = "retrying"
    SENT = "sent"
    FAILED = "failed"  # permanently, with the reason
    DIGEST = "digest"  # waits (until due_at) to go out in the person's daily digest


class Delivery(StrEnum):
    """How a person is told."""

    INAPP = "inapp"
    EMAIL = "email"
    TELEGRAM = "telegram"
    OFF = "off"


class Timing(StrEnum):
    """When a person is told by email or Telegram (in-app is always at once)."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"


class Notification(Base):
    """One message to one person by one delivery, written in the transaction of the change
    that causes it and sent by a worker with the queue's claim/lease/retry discipline."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "due_at"),
        Index("ix_notification_user_unread", "user_id", "delivery", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    delivery: Mapped[str] = mapped_column(String(20))
    #: One row per (event, person, delivery): a retried transaction cannot notify twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(1000), default="")
    opd_id: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[int | None] = mapped_column(Integer)
    publication_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: For a row that went out in a daily digest: the digest notification that carried it.
    digest_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NotificationPreference(Base):
    """A person's choice for one kind of notification (no row: the kind's default)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    delivery: Mapped[str] = mapped_column(String(20))
    timing: Mapped[str] = mapped_column(String(20), default=Timing.IMMEDIATE)


class TelegramLinkCode(Base):
    """A one-time code a person sends to the bot (``/start CODE``) to link a chat; only its
    hash is stored, and it expires."""

    __tablename__ = "telegram_link_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceState(Base):
    """A small named value the cluster keeps (the Telegram ``getUpdates`` offset)."""

    __tablename__ = "service_state"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EscalationRule(Base):
    """One of the Pemda's escalation rules (berkala overdue by N days, approval waiting more
    than N hours, a channel held more than N hours), set by the PPID Utama."""

    __tablename__ = "escalation_rule"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    threshold: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EscalationSent(Base):
    """An escalation that fired: each (rule, subject) escalates once."""

    __tablename__ = "escalation_sent"
    __table_args__ = (UniqueConstraint("rule", "subject_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))
    subject_key: Mapped[str] = mapped_column(String(200))
    opd_id: Mapped[int | None] = mapped_column(Integer, index=True)
    fired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
