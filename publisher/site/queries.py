"""What the public site may show, read in a few queries per page (never one per item).

An item is public when it is approved, not dikecualikan, and its publication on a ``site``
channel has been published. A cancelled or reclassified item leaves the site at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from ..models import Category, Channel, Item, ItemStatus, Opd, Publication, PublicationStatus
from ..sanitize import html_to_text
from ..urls import item_path

EXCERPT_CHARS = 240


@dataclass(frozen=True)
class Card:
    """An item as a listing or a feed shows it."""

    id: int
    slug: str
    title: str
    summary: str
    body_html: str
    category: str
    opd_name: str
    opd_slug: str
    timezone: str
    published_at: datetime
    updated_at: datetime

    @property
    def path(self) -> str:
        """The item page's stable path."""
        return item_path(self.opd_slug, self.id, self.slug)

    @property
    def excerpt(self) -> str:
        """The summary, or the start of the body as plain text."""
        text = self.summary or html_to_text(self.body_html)
        if len(text) <= EXCERPT_CHARS:
            return text
        return text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + " …"


@dataclass
class OpdNode:
    """An OPD in the portal's hierarchy."""

    id: int
    name: str
    slug: str
    timezone: str
    count: int = 0
    children: list[OpdNode] = field(default_factory=list)


def site_published() -> Any:
    """Subquery: item_id → when it was first published on a site channel."""
    return (
        select(Publication.item_id.label("item_id"),
               func.min(Publication.published_at).label("published_at"))
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Channel.kind == "site", Publication.status == PublicationStatus.PUBLISHED,
               Publication.published_at.is_not(None))
        .group_by(Publication.item_id)
        .subquery("site_pub")
    )


def _cards_query(opd_ids: list[int] | None) -> tuple[Select[Any], Any]:
    pub = site_published()
    query = (
        select(Item.id, Item.slug, Item.title, Item.summary, Item.body_html, Item.category,
               Opd.name, Opd.slug.label("opd_slug"), Opd.timezone, pub.c.published_at,
               Item.updated_at)
        .join(pub, pub.c.item_id == Item.id)
        .join(Opd, Opd.id == Item.opd_id)
        .where(Item.status == ItemStatus.APPROVED, Item.category != Category.DIKECUALIKAN,
               not_exempted_by_dik())
    )
    if opd_ids is not None:
        query = query.where(Item.opd_id.in_(opd_ids))
    return query, pub


def cards(session: Session, opd_ids: list[int] | None, *, limit: int,
          offset: int = 0) -> list[Card]:
    """Public items of these OPDs (None: every OPD), newest first."""
    query, pub = _cards_query(opd_ids)
    rows = session.execute(
        query.order_by(pub.c.published_at.desc(), Item.id.desc()).limit(limit).offset(offset)
    )
    return [Card(*row) for row in rows]


def count(session: Session, opd_ids: list[int] | None) -> int:
    """How many public items these OPDs have."""
    query, _ = _cards_query(opd_ids)
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def not_exempted_by_dik() -> ColumnElement[bool]:
    """Items no DIK entry exempts (a blacked-out version of one may be shown); a second
    guard beside the category, which linking sets to dikecualikan."""
    return or_(Item.dik_entry_id.is_(None), Item.dik_redacted.is_(True))


def opd_by_slug(session: Session, slug: str) -> Opd | None:
    """An OPD by its slug."""
    return session.scalars(select(Opd).where(Opd.slug == slug)).first()


def opd_tree(session: Session) -> list[OpdNode]:
    """Every OPD under its parent (desa and kecamatan below the Pemda), with item counts."""
    pub = site_published()
    counts: dict[int, int] = {
        opd_id: n for opd_id, n in session.execute(
            select(Item.opd_id, func.count())
            .join(pub, pub.c.item_id == Item.id)
            .where(Item.status == ItemStatus.APPROVED, Item.category != Category.DIKECUALIKAN,
               not_exempted_by_dik())
            .group_by(Item.opd_id)
        )
    }
    nodes: dict[int, OpdNode] = {}
    parents: dict[int, int | None] = {}
    for oid, name, slug, tz, parent in session.execute(
        select(Opd.id, Opd.name, Opd.slug, Opd.timezone, Opd.parent_id).order_by(Opd.name)
    ):
        nodes[oid] = OpdNode(oid, name, slug, tz, counts.get(oid, 0))
        parents[oid] = parent
    roots = []
    for oid, node in nodes.items():
        parent = parents[oid]
        if parent is None or parent not in nodes or _is_cycle(parents, oid):
            roots.append(node)
        else:
            nodes[parent].children.append(node)
    return roots


def _is_cycle(parents: dict[int, int | None], start: int) -> bool:
    seen = {start}
    current = parents.get(start)
    while current is not None:
        if current in seen:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def public_item(session: Session, opd: Opd, item_id: int) -> tuple[Item, datetime] | None:
    """The item with its site publication time, if it is public and belongs to ``opd``."""
    pub = site_published()
    row = session.execute(
        select(Item, pub.c.published_at)
        .join(pub, pub.c.item_id == Item.id)
        .where(Item.id == item_id, Item.opd_id == opd.id,
               Item.status == ItemStatus.APPROVED, Item.category != Category.DIKECUALIKAN,
               not_exempted_by_dik())
    ).first()
    return (row[0], row[1]) if row else None


@dataclass(frozen=True)
class Elsewhere:
    """The same item on another channel (Facebook, WordPress, ...)."""

    name: str
    kind: str
    url: str
    published_at: datetime


def elsewhere(session: Session, item_id: int) -> list[Elsewhere]:
    """Published copies of the item on non-site channels that have a public URL."""
    rows = session.execute(
        select(Channel.name, Channel.kind, Publication.url, Publication.published_at)
        .join(Channel, Channel.id == Publication.channel_id)
        .where(Publication.item_id == item_id, Channel.kind != "site",
               Publication.status == PublicationStatus.PUBLISHED,
               Publication.url.is_not(None), Publication.url != "")
        .order_by(Publication.published_at)
    )
    return [Elsewhere(name, kind, url or "", when) for name, kind, url, when in rows
            if when is not None]
