"""The one base class every channel implements, and the values that cross it.

A channel turns a rendered :class:`Payload` into a post on some platform and returns a
:class:`Receipt`. It never touches the database: the queue copies what it needs out of the
session (``ChannelInfo``, ``RenderContext``) before any network call. Errors are typed, and one
retry policy (``publisher.queue.retry``) decides what each means for the publication.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any, ClassVar, Self

from ..security import HEADER_UNSAFE, header_safe

# --- errors ---------------------------------------------------------------------------------


class ChannelError(Exception):
    """Base of channel errors. ``message`` is shown to a PPID (Bahasa Indonesia first)."""

    kind = "error"

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        #: Technical detail for logs and the audit (never secrets).
        self.detail = detail


class TransientError(ChannelError):
    """Try again later (timeouts, 5xx, connection errors). ``uncertain`` means the platform may
    have acted anyway (a write that timed out): reconcile before sending again."""

    kind = "transient"
    #: Whether this failure uses up one of the publication's attempts. Waiting for the
    #: platform (rate limits, quotas, work still in progress) is not a failed try.
    consumes_attempt: ClassVar[bool] = True

    def __init__(self, message: str, *, detail: str = "", uncertain: bool = False) -> None:
        super().__init__(message, detail=detail)
        self.uncertain = uncertain

    def certain(self) -> Self:
        """The same error (type, wait and detail kept) saying the platform did not act: for
        a step whose effect is invisible (an unpublished upload, a container)."""
        if not self.uncertain:
            return self
        clone = copy.copy(self)
        clone.uncertain = False
        return clone


class RateLimited(TransientError):
    """The platform asks us to wait ``retry_after`` seconds (None: back off on our own)."""

    kind = "rate_limited"
    consumes_attempt = False

    def __init__(self, message: str, *, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class NotReady(TransientError):
    """The platform is still working on something it accepted (an Instagram container being
    processed), or its status could not be read just now: look again after ``retry_after``
    seconds (None: back off on our own). Not a failed try."""

    kind = "not_ready"
    consumes_attempt = False

    def __init__(self, message: str, *, retry_after: float | None = None, detail: str = "") -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class AuthError(ChannelError):
    """Credentials are invalid, expired or lack a permission: the channel needs reconnecting
    and its publications are held (never dropped)."""

    kind = "auth"


class PermanentError(ChannelError):
    """Sending this payload again will not help; ``message`` says what the operator must do."""

    kind = "permanent"


class ClaimLost(Exception):
    """The queue no longer holds this publication (its lease was taken over while this worker
    was paused): nothing may be sent. Raised by :meth:`Payload.before_write`."""


class ConfigError(ValueError):
    """A channel's configuration is incomplete or wrong; names the field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.message = message


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelInfo:
    """A channel row copied out of the session."""

    id: int
    opd_id: int
    kind: str
    name: str
    status: str
    config: dict[str, Any]
    secrets: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class OpdView:
    """What templates may know about the OPD."""

    id: int
    name: str
    slug: str
    timezone: str
    tz_label: str
    color: str = "#1f5f8b"


@dataclass(frozen=True)
class MediaView:
    """An image of an item, as a channel sees it."""

    id: int
    public_url: str
    path: str
    mime_type: str
    alt_text: str
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class ItemView:
    """An item's publishable content, copied out of the session. ``body_text`` (plain text
    of the body) is computed on first use, since many templates never need it."""

    id: int
    opd_id: int
    slug: str
    title: str
    body_html: str
    summary: str
    category: str
    link: str
    version: int
    content_hash: str
    site_url: str
    official_unit: str = ""
    responsible: str = ""
    made_at: date | None = None
    made_place: str = ""
    info_formats: tuple[str, ...] = ()
    retention: str = ""
    created_at: datetime | None = None

    @cached_property
    def body_text(self) -> str:
        """The body as readable plain text."""
        from ..sanitize import html_to_text

        return html_to_text(self.body_html, trusted=True)


@dataclass(frozen=True)
class RenderContext:
    """Everything a channel needs to render one publication."""

    publication_id: int
    item: ItemView
    opd: OpdView
    media: tuple[MediaView, ...]
    public_base_url: str
    due_at: datetime | None = None


@dataclass
class Payload:
    """Exactly what will be sent. A preview is this object, rendered the same way."""

    publication_id: int
    channel_id: int
    kind: str
    #: publication id + content hash; placed where the platform keeps it, for reconciliation.
    fingerprint: str
    content_hash: str
    title: str = ""
    text: str = ""
    html: str = ""
    link: str = ""
    images: list[MediaView] = field(default_factory=list)
    #: Channel-specific extras (e.g. a webhook's JSON body).
    data: dict[str, Any] = field(default_factory=dict)
    #: Set by the queue: raises ClaimLost when the claim is no longer this worker's.
    guard: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: Set by the queue for channels that ``counts_slots``: publications of the channel that
    #: will take a publishing slot before this one (containers made, or claimed earlier).
    slots_ahead: int = field(default=0, compare=False)

    def before_write(self) -> None:
        """Call right before the request that creates the post: the queue confirms (and
        renews) its claim, or raises ClaimLost so nothing is sent."""
        if self.guard is not None:
            self.guard()

    def preview(self) -> dict[str, Any]:
        """JSON-safe form for the preview endpoint and the UI."""
        return {
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "title": self.title,
            "text": self.text,
            "html": self.html,
            "link": self.link,
            "images": [
                {"url": m.public_url, "alt_text": m.alt_text, "width": m.width, "height": m.height}
                for m in self.images
            ],
            "data": self.data,
        }


@dataclass(frozen=True)
class Receipt:
    """Proof that a post exists on the platform."""

    remote_id: str
    url: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True)
class Processing:
    """The platform accepted work that finishes later; check again after ``check_after`` s."""

    state: dict[str, Any]
    check_after: float = 5.0


@dataclass(frozen=True)
class Health:
    """Result of a channel check."""

    ok: bool
    detail: str = ""
    expires_at: datetime | None = None
    scopes: tuple[str, ...] = ()
    #: The credentials themselves are bad (invalid, expired, a permission missing): the
    #: channel needs reconnecting. False for other problems (an unreachable endpoint...).
    reauth: bool = False


# --- the base class -------------------------------------------------------------------------


class Channel(ABC):
    """One kind of destination. Subclasses set the capabilities and implement the methods."""

    kind: ClassVar[str]
    #: Name shown to people (Bahasa Indonesia).
    label: ClassVar[str]
    text_limit: ClassVar[int | None] = None
    supports_images: ClassVar[bool] = False
    max_images: ClassVar[int] = 0
    supports_links: ClassVar[bool] = True
    #: True when publish() does network I/O (the queue runs it in its send pool).
    remote: ClassVar[bool] = True
    #: True when publish() and resume() call ``payload.before_write()`` right before the
    #: request that creates the post; otherwise the queue checks its claim before calling them.
    guards_writes: ClassVar[bool] = False
    #: True when the platform counts posts against a publishing quota (Instagram's 24-hour
    #: limit): the queue then tells publish() how many of the channel's publications will
    #: take a slot before this one (``Payload.slots_ahead``).
    counts_slots: ClassVar[bool] = False
    #: Config keys that must be present, and secret keys (stored encrypted, never shown).
    required_config: ClassVar[tuple[str, ...]] = ()
    secret_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(self, info: ChannelInfo, settings: Any) -> None:
        self.info = info
        self.settings = settings

    @classmethod
    def validate_config(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check and normalise a new or changed configuration; raise ConfigError naming the
        field."""
        for name in cls.required_config:
            if not config.get(name) and not secrets.get(name):
                raise ConfigError(name, "wajib diisi (required)")
        unknown_secret = set(secrets) - set(cls.secret_fields)
        if unknown_secret:
            raise ConfigError(sorted(unknown_secret)[0], "not a secret field of this channel")
        for name, value in secrets.items():  # tokens and passwords go into headers and URLs
            if value is not None and not (isinstance(value, str) and header_safe(value)):
                raise ConfigError(name, HEADER_UNSAFE)
        return config, secrets

    @abstractmethod
    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """Build the payload for one publication (through ``renderer``'s Jinja templates)."""

    @abstractmethod
    def publish(self, payload: Payload) -> Receipt | Processing:
        """Send the payload. Raise a typed ChannelError on failure."""

    def resume(self, payload: Payload, state: dict[str, Any]) -> Receipt | Processing:
        """Check on work the platform accepted earlier (only channels that return Processing)."""
        raise PermanentError("channel does not support deferred publishing")

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """Look for a post made earlier for this payload (by fingerprint). None: not found."""
        return None

    def check(self) -> Health:
        """Check that the channel can publish (credentials, reachability)."""
        return Health(ok=True, detail="ok")

    def fingerprint(self, ctx: RenderContext) -> str:
        """``pub-<id>-<hash prefix>``: unique per publication and content version."""
        return f"pub-{ctx.publication_id}-{ctx.item.content_hash[:12]}"

    def base_payload(self, ctx: RenderContext, **fields: Any) -> Payload:
        """A Payload with the identifying fields filled in."""
        return Payload(
            publication_id=ctx.publication_id,
            channel_id=self.info.id,
            kind=self.kind,
            fingerprint=self.fingerprint(ctx),
            content_hash=ctx.item.content_hash,
            **fields,
        )
