"""Notifications for what the publishing queue's result path decides, written in its transaction.

Called once per batch from :func:`publisher.queue.record.write_outcomes`, after the
publication and channel rows are updated (so it reads the state the batch leaves behind):

* ``item_published``: the drafter, when the item's last unfinished publication is published
  (or fails for good while others were published);
* ``serta_merta_sent``: the PPID Utama, the first time a serta-merta item is published anywhere;
* ``publication_failed``: the drafter and the OPD's approvers, when a publication fails for good;
* ``publication_unconfirmed``: the same people, when a publication that may already be on its
  platform could not be confirmed (once per publication);
* ``channel_held``: the OPD's approvers and editors, when a channel is moved to needs_reauth.

This runs for every batch the queue records, so a batch with nothing published, failed or held
returns before any query, and the rest reads all of its items' publications in one statement.
Every notification has a stable event key: recording the same outcome twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from ..models import Category, PublicationStatus, Role
from ..queue import rawsql
from .outbox import notify
from .recipients import People, ppid_utama

if TYPE_CHECKING:
    from ..queue.record import Outcome

#: Outcomes the OPD's people hear about: failed for good, or in need of a person's check.
_ASK_PEOPLE = frozenset({PublicationStatus.FAILED, PublicationStatus.UNCONFIRMED})
#: Publication states after which nothing more happens to it (for the "last sibling" rule).
_FINISHED = frozenset({PublicationStatus.PUBLISHED, PublicationStatus.CANCELLED,
                       PublicationStatus.BLOCKED, PublicationStatus.FAILED})

# Every publication of the batch's items, with what the notifications say about them; items
# no one is told about (no drafter, not serta-merta) only for a failed or unconfirmed one, so a
# batch of those costs the statement and no Python per row. Driver level like the rest of the
# queue's hot path; ids are bound parameters.
_SIBLINGS_SQL = (
    "SELECT p.id, p.item_id, p.status, p.url, c.name, i.created_by_id, i.category "
    "FROM publication p JOIN channel c ON c.id = p.channel_id JOIN item i ON i.id = p.item_id "
    "WHERE p.item_id IN ({ids}) "
    "AND (i.created_by_id IS NOT NULL OR i.category = 'serta_merta' OR p.status = 'failed' "
    "OR p.status = 'unconfirmed') "
    "ORDER BY p.item_id, p.id"
)
# PostgreSQL: two workers recording the last two publications of one item at the same time
# must not both see the other's as unfinished. Each takes a transaction-scoped advisory lock
# per item first (in id order, so workers cannot deadlock each other) and reads the siblings
# in a later statement, whose snapshot (READ COMMITTED) then includes what the other worker
# committed. An advisory lock rather than a row lock on the item: the batch already holds its
# publications' row locks, and a service transaction that updates the item and then locks
# its publications (editing an approved item) would otherwise wait for us while we wait for
# it. The subquery fixes the order the locks are taken in (PostgreSQL's documented pattern).
# 28276 (0x6E74) is the first key of these two-key advisory locks: "item notified".
_LOCK_SQL = ("SELECT pg_advisory_xact_lock(28276, q.id) "
             "FROM (SELECT id FROM item WHERE id IN ({ids}) ORDER BY id) q")


@dataclass(frozen=True)
class _Pub:
    id: int
    status: str
    url: str
    channel: str


def _about(o: Outcome, done: list[_Pub]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The text context and the row fields of a notification about ``o``'s item."""
    item_id = o.claimed.item["id"]
    return ({"title": o.claimed.item["title"], "opd": o.claimed.opd["name"],
             "links": _links(done)},
            {"link": f"/admin/informasi/{item_id}", "opd_id": o.claimed.opd["id"],
             "item_id": item_id})


def _tell_drafter(conn: Connection, author: int, o: Outcome, done: list[_Pub]) -> None:
    """``item_published`` to the drafter, keyed by the publications that went out (so the
    published and the failed path cannot both tell it)."""
    ids = ",".join(str(p.id) for p in done)  # rows come in id order
    context, where = _about(o, done)
    notify(conn, "item_published", [author],
           event_key=f"item-{o.claimed.item['id']}-published-{ids}", context=context, **where)


def record_events(conn: Connection, outcomes: Sequence[Outcome],
                  held: Iterable[tuple[int, str]], now: datetime) -> None:
    """Notify about a recorded batch: ``outcomes`` as written, ``held`` the (channel id,
    message) of each channel this batch moved to needs_reauth."""
    published: list[Outcome] = []
    failed: list[Outcome] = []
    for o in outcomes:
        if o.receipt is not None:
            published.append(o)
        elif (o.processing is None and o.decision is not None
              and o.decision.status in _ASK_PEOPLE):
            failed.append(o)
    held = list(held)
    if not published and not failed and not held:
        return  # the common no-op: no query at all
    people = People(conn)
    if published or failed:
        _publications(conn, published, failed, people)
    for channel_id, message in held:
        sample = next(o for o in outcomes if o.claimed.channel["id"] == channel_id)
        opd_id = sample.claimed.channel["opd_id"]
        opd_name = (sample.claimed.opd["name"] if sample.claimed.opd["id"] == opd_id
                    else _opd_name(conn, opd_id))
        notify(conn, "channel_held", people(opd_id, (Role.APPROVER, Role.EDITOR)),
               event_key=f"channel-{channel_id}-held-{now.isoformat()}",
               context={"channel": sample.claimed.channel["name"], "opd": opd_name,
                        "error": message},
               link=f"/admin/saluran/{channel_id}", opd_id=opd_id)


def _publications(conn: Connection, published: list[Outcome], failed: list[Outcome],
                  people: People) -> None:
    item_ids = sorted({o.claimed.item["id"] for o in (*published, *failed)})
    if conn.dialect.name == "postgresql":  # both paths decide on "the last sibling"
        rawsql.select_in(conn, _LOCK_SQL, item_ids)
    siblings: dict[int, list[_Pub]] = {}
    drafter: dict[int, int | None] = {}
    category: dict[int, str] = {}
    status: dict[int, str] = {}
    for pub_id, item_id, pub_status, url, channel, created_by, cat in rawsql.select_in(
            conn, _SIBLINGS_SQL, item_ids):
        siblings.setdefault(item_id, []).append(_Pub(pub_id, pub_status, url or "", channel))
        drafter[item_id] = created_by
        category[item_id] = cat
        status[pub_id] = pub_status

    # Published: once per item of the batch, from the state the batch left behind (an item
    # with neither drafter nor serta-merta category has no rows here, unless failed).
    sent_now: dict[int, set[int]] = {}
    first: dict[int, Outcome] = {}
    for o in published:
        if status.get(o.claimed.id) == PublicationStatus.PUBLISHED:  # not a late receipt
            item_id = o.claimed.item["id"]
            sent_now.setdefault(item_id, set()).add(o.claimed.id)
            first.setdefault(item_id, o)
    admins: list[int] | None = None
    for item_id, now_ids in sent_now.items():
        pubs = siblings[item_id]
        author = drafter[item_id]
        done = [p for p in pubs if p.status == PublicationStatus.PUBLISHED]
        # Serta-merta: the PPID Utama hears at once, when the first publication goes out
        # (a later one finds an earlier one published and stays quiet).
        serta_merta = (category[item_id] == Category.SERTA_MERTA
                       and all(p.id in now_ids for p in done))
        # The drafter hears when nothing of the item is still on its way.
        finished = author is not None and all(p.status in _FINISHED for p in pubs)
        if not serta_merta and not finished:
            continue
        o = first[item_id]
        if serta_merta:
            if admins is None:
                admins = ppid_utama(conn)
            context, where = _about(o, done)
            notify(conn, "serta_merta_sent", admins,
                   event_key=f"item-{item_id}-serta-merta", context=context, **where)
        if finished and author is not None:
            _tell_drafter(conn, author, o, done)

    # Failed for good, or unconfirmed (and still ours: a claim another worker took over is
    # not written).
    for o in failed:
        item_id = o.claimed.item["id"]
        assert o.decision is not None
        if status.get(o.claimed.id) == PublicationStatus.UNCONFIRMED == o.decision.status:
            _ask_to_check(conn, o, drafter.get(item_id), people)
            continue
        if status.get(o.claimed.id) != PublicationStatus.FAILED:
            continue
        author = drafter.get(item_id)
        # The item's last unfinished publication, with others published: the drafter hears
        # of those too.
        pubs = siblings.get(item_id, [])
        done = [p for p in pubs if p.status == PublicationStatus.PUBLISHED]
        if (author is not None and done and item_id not in sent_now
                and all(p.status in _FINISHED for p in pubs)):
            sent_now[item_id] = set()
            _tell_drafter(conn, author, o, done)
        opd_id = o.claimed.opd["id"]
        recipients = list(people(opd_id, (Role.APPROVER,)))
        if author is not None:
            recipients.append(author)
        assert o.decision is not None
        notify(conn, "publication_failed", recipients,
               event_key=f"publication-{o.claimed.id}-failed-{o.claimed.attempts}",
               context={"title": o.claimed.item["title"], "opd": o.claimed.opd["name"],
                        "channel": o.claimed.channel["name"], "error": o.decision.message},
               link=f"/admin/informasi/{item_id}", opd_id=opd_id, item_id=item_id,
               publication_id=o.claimed.id)


def _ask_to_check(conn: Connection, o: Outcome, author: int | None, people: People) -> None:
    """``publication_unconfirmed`` to the drafter and the approvers, once per publication."""
    assert o.decision is not None
    opd_id = o.claimed.opd["id"]
    recipients = list(people(opd_id, (Role.APPROVER,)))
    if author is not None:
        recipients.append(author)
    item_id = o.claimed.item["id"]
    notify(conn, "publication_unconfirmed", recipients,
           event_key=f"publication-{o.claimed.id}-unconfirmed",
           context={"title": o.claimed.item["title"], "opd": o.claimed.opd["name"],
                    "channel": o.claimed.channel["name"], "error": o.decision.message},
           link=f"/admin/informasi/{item_id}", opd_id=opd_id, item_id=item_id,
           publication_id=o.claimed.id)


def _links(pubs: list[_Pub]) -> str:
    """One line per published publication: ``- <channel>: <url>`` (no URL: the channel)."""
    return "\n".join(f"- {p.channel}: {p.url}" if p.url else f"- {p.channel}" for p in pubs)


def _opd_name(conn: Connection, opd_id: int) -> str:
    rows = rawsql.fetch(conn, "SELECT name FROM opd WHERE id = {p}", (opd_id,))
    return str(rows[0][0]) if rows else ""
