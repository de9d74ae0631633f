"""State ⇔ audit: replay the audit log into the status each item and publication should have,
then name every row whose current status is not the one its last event says.

A hash chain proves that recorded events were not changed; it cannot see a row changed with
no event at all (``UPDATE publication SET status = 'published'``). Every status change in the
software writes an event in the same transaction, so a row that disagrees with its replayed
status was changed outside the software.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from . import audit_rows
from .models import Item, ItemStatus, Publication, PublicationStatus

_PUBLICATION_STATES = frozenset(PublicationStatus)
_ITEM_STATES = frozenset(ItemStatus)
#: Publication events whose ``result`` is not the new status ("ok"): the status they set.
_PUBLICATION_ACTIONS = {
    "publication.retry_requested": PublicationStatus.SCHEDULED,
    "publication.cancelled": PublicationStatus.CANCELLED,
    "publication.withdrawn": PublicationStatus.CANCELLED,
}
#: Item events and the status they set; ``item.updated`` carries it in its detail, the
#: others (rescheduled, ...) leave it as it was.
_ITEM_ACTIONS = {
    "item.created": ItemStatus.DRAFT,
    "item.submitted": ItemStatus.SUBMITTED,
    "item.approved": ItemStatus.APPROVED,
    "item.returned": ItemStatus.RETURNED,
    "item.cancelled": ItemStatus.CANCELLED,
}
#: Events that change many publications at once, listing them in their detail.
_BULK = {
    "channel.resumed": ("released_publications", PublicationStatus.SCHEDULED),
    "item.cancelled": ("publications_cancelled", PublicationStatus.CANCELLED),
}


#: Status codes kept per row id in a bytearray (0: no event seen): a million rows cost a
#: megabyte, where a dict would cost a hundred.
_PUBLICATION_CODES = {status: code for code, status in enumerate(PublicationStatus, start=1)}
_ITEM_CODES = {status: code for code, status in enumerate(ItemStatus, start=1)}
_PUBLICATION_NAMES = {code: str(status) for status, code in _PUBLICATION_CODES.items()}
_ITEM_NAMES = {code: str(status) for status, code in _ITEM_CODES.items()}


def _put(table: bytearray, row_id: int, code: int) -> None:
    if row_id >= len(table):
        table.extend(bytes(max(row_id + 1 - len(table), len(table))))
    table[row_id] = code


class StateReplay:
    """Fed every audit event in order; knows the status each row had after its last event."""

    def __init__(self) -> None:
        self.publications = bytearray()
        self.items = bytearray()
        #: table → row id → the fingerprint of its last ``audit.row`` event
        self.rows: dict[str, dict[int, str]] = {}

    def feed(self, row: Mapping[str, Any]) -> None:
        """Apply one event (a mapping of audit_event columns)."""
        self.feed_values(row["action"], row["publication_id"], row["item_id"], row["result"],
                         row["detail"])

    def feed_values(self, action: str, pub_id: int | None, item_id: int | None, result: str,
                    detail: Any) -> None:
        """Apply one event given by the columns that matter (``detail`` as text or dict)."""
        if action == audit_rows.ACTION:
            row = _detail(detail)
            if isinstance(row.get("id"), int) and row.get("table") in audit_rows.TABLES:
                self.rows.setdefault(row["table"], {})[row["id"]] = str(row.get("fp"))
            return
        if pub_id is not None and action.startswith("publication."):
            status = result if result in _PUBLICATION_STATES else (
                _PUBLICATION_ACTIONS.get(action))
            if status is not None and pub_id > 0:
                _put(self.publications, pub_id, _PUBLICATION_CODES[PublicationStatus(status)])
        elif item_id is not None and action.startswith("item."):
            status = _ITEM_ACTIONS.get(action)
            if action == "item.updated":
                status = _detail(detail).get("status")
            if status in _ITEM_STATES and item_id > 0:
                _put(self.items, item_id, _ITEM_CODES[ItemStatus(status)])
        bulk = _BULK.get(action)
        if bulk is not None:
            key, status = bulk
            for value in _detail(detail).get(key) or ():
                if isinstance(value, int) and value > 0:
                    _put(self.publications, value, _PUBLICATION_CODES[PublicationStatus(status)])

    def compare(self, conn: Connection | Session) -> list[str]:
        """One problem per item or publication whose status disagrees with the log, or that
        has no event at all, or that the log names but the database lost."""
        problems: list[str] = []
        for label, table, replayed, names in (
            ("item", Item, self.items, _ITEM_NAMES),
            ("publication", Publication, self.publications, _PUBLICATION_NAMES),
        ):
            seen = bytearray(len(replayed))
            rows = conn.execute(select(table.id, table.status).order_by(table.id)
                                .execution_options(yield_per=5000))
            for row_id, status in rows:
                code = replayed[row_id] if row_id < len(replayed) else 0
                if row_id < len(seen):
                    seen[row_id] = 1
                if code == 0:
                    problems.append(f"{label} #{row_id} ({status}) has no audit event: "
                                    "it was created outside the software")
                elif names[code] != status:
                    problems.append(f"{label} #{row_id} is {status} but its last audit event "
                                    f"says {names[code]}: changed without an audit event")
            lost = [i for i, code in enumerate(replayed) if code and not seen[i]]
            if lost:
                shown = ", ".join(f"#{i}" for i in lost[:20]) + (" …" if len(lost) > 20 else "")
                problems.append(f"{len(lost)} {label} row(s) named in the audit log are missing "
                                f"from the database: {shown}")
        problems.extend(self._compare_rows(conn))
        return problems

    def _compare_rows(self, conn: Connection | Session) -> list[str]:
        """Every tracked row against the fingerprint of its last ``audit.row`` event."""
        problems: list[str] = []
        for table, model in audit_rows.TABLES.items():
            recorded = dict(self.rows.get(table, {}))
            for row_id, fp in audit_rows.current(conn, model):
                last = recorded.pop(row_id, None)
                if last is None:
                    problems.append(f"{table} #{row_id} has no audit event: it was created "
                                    "outside the software")
                elif last == audit_rows.DELETED:
                    problems.append(f"{table} #{row_id} was deleted according to the audit "
                                    "log, yet it is in the database")
                elif last != fp:
                    problems.append(f"{table} #{row_id} was changed without an audit event "
                                    "(its audited columns no longer match the last record)")
            gone = sorted(i for i, fp in recorded.items() if fp != audit_rows.DELETED)
            if gone:
                shown = ", ".join(f"#{i}" for i in gone[:20]) + (" …" if len(gone) > 20 else "")
                problems.append(f"{len(gone)} {table} row(s) were deleted outside the software:"
                                f" {shown}")
        return problems


def _detail(detail: Any) -> dict[str, Any]:
    if isinstance(detail, str):
        detail = json.loads(detail or "{}")
    return detail if isinstance(detail, dict) else {}
