"""The append-only, hash-chained audit log of everything that happens to public information.

Each event stores the hash of the event before it; the hash covers every column. ``verify``
walks the chain and names any event that was edited, deleted or moved. Appends lock the one
``audit_head`` row, so concurrent workers still write one straight chain.

That lock serialises every writer of the cluster, so it is held as briefly as possible: events
appended through an ORM session are written when the session commits (after its flush, right
before the commit), and the queue appends its events as the last statement of each
transaction. On PostgreSQL, the transaction that takes the head also gets a short
``idle_in_transaction_session_timeout``: a process frozen while holding it (a stopped VM, a
long pause) loses its session after a few seconds instead of stalling every other worker.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Text, cast, event, select
from sqlalchemy.orm import Session

from .models import AuditEvent, AuditHead
from .queue import rawsql
from .timeutil import format_local, utcnow

GENESIS = "0" * 64
_SECRET_WORDS = (
    "token", "password", "secret", "authorization", "cookie", "api_key", "private_key",
    "access_key",
)

#: Columns covered by each event's hash, in a fixed order.
HASHED_FIELDS = (
    "seq", "at", "at_local", "actor_type", "actor_id", "actor_name", "actor_role", "action",
    "opd_id", "item_id", "item_version_hash", "category", "publication_id", "channel_id",
    "channel_kind", "result", "error", "detail", "prev_hash",
)


@dataclass(frozen=True)
class Actor:
    """Who did something: a user (name, role, NIP) or a worker process."""

    type: str
    id: str
    name: str = ""
    role: str = ""

    @classmethod
    def worker(cls, worker_id: str) -> Actor:
        """A scheduler/worker process."""
        return cls("worker", worker_id, worker_id, "")

    @classmethod
    def system(cls, what: str = "system") -> Actor:
        """The service itself (CLI, migrations, demo seeding)."""
        return cls("system", what, what, "")


@lru_cache(maxsize=1024)
def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def scrub(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """Drop anything that looks like a credential: secrets never reach the audit log."""
    clean: dict[str, Any] = {}
    for key, value in (detail or {}).items():
        if _is_secret(key):
            continue
        clean[key] = scrub(value) if isinstance(value, Mapping) else value
    return clean


#: Canonical JSON for ``detail`` (stored and hashed as exactly this text).
_DETAIL_JSON = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    """The canonical JSON text of an event's detail."""
    return _DETAIL_JSON.encode(dict(detail or {}))


# No cycle check: the hashed values are scalars and the detail is already text.
_LIST_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)


def event_hash(row: Mapping[str, Any]) -> str:
    """SHA-256 over the hashed fields of one event: a JSON array of their values in the fixed
    order of HASHED_FIELDS, with ``at`` in ISO 8601 and ``detail`` as its canonical JSON text.
    """
    values = [row.get(name) for name in HASHED_FIELDS]
    at, detail = values[_AT], values[_DETAIL]
    if isinstance(at, datetime):
        values[_AT] = _iso_text(at)
    if not isinstance(detail, str):
        values[_DETAIL] = canonical_detail(detail)
    return hashlib.sha256(_LIST_JSON.encode(values).encode()).hexdigest()


_AT = HASHED_FIELDS.index("at")
_DETAIL = HASHED_FIELDS.index("detail")
_SEQ = HASHED_FIELDS.index("seq")
_PREV = HASHED_FIELDS.index("prev_hash")
_ACTION = HASHED_FIELDS.index("action")
_PUB = HASHED_FIELDS.index("publication_id")
_ITEM = HASHED_FIELDS.index("item_id")
_RESULT = HASHED_FIELDS.index("result")
_HASH = len(HASHED_FIELDS)  # the stored hash follows the hashed fields in verify's select


def _values_hash(values: list[Any]) -> str:
    """:func:`event_hash` of a row given as its HASHED_FIELDS values (plus trailing columns),
    detail already text."""
    hashed = values[:_HASH]
    at = hashed[_AT]
    if isinstance(at, datetime):
        hashed[_AT] = _iso_text(at)
    if not isinstance(hashed[_DETAIL], str):
        hashed[_DETAIL] = canonical_detail(hashed[_DETAIL])
    return hashlib.sha256(_LIST_JSON.encode(hashed).encode()).hexdigest()


def _recanonicalised_matches(values: list[Any], stored: str) -> bool:
    """True when the detail text only differs from canonical JSON in form (a backend that
    re-serialised it), not in content."""
    detail = values[_DETAIL]
    if not isinstance(detail, str):
        return False
    try:
        again = canonical_detail(json.loads(detail or "{}"))
    except (ValueError, TypeError):
        return False
    if again == detail:
        return False
    return _values_hash([*values[:_DETAIL], again, *values[_DETAIL + 1:]]) == stored


@lru_cache(maxsize=256)
def _iso_text(moment: datetime) -> str:
    # Events of one batch share their timestamp: format it once.
    return moment.isoformat()


@lru_cache(maxsize=256)
def _local_text(moment: datetime, tz_name: str) -> str:
    # Events of one batch share their timestamp: format it once.
    return format_local(moment, tz_name, "%Y-%m-%d %H:%M:%S")


def make_event(
    actor: Actor,
    action: str,
    *,
    tz_name: str = "Asia/Jakarta",
    at: datetime | None = None,
    opd_id: int | None = None,
    item_id: int | None = None,
    item_version_hash: str = "",
    category: str = "",
    publication_id: int | None = None,
    channel_id: int | None = None,
    channel_kind: str = "",
    result: str = "",
    error: str = "",
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An event ready for :func:`append` (seq and hashes are filled in there)."""
    moment = (at or utcnow()).astimezone(UTC)
    # Keep microseconds: every backend stores them, so the hash survives a round trip.
    return {
        "at": moment,
        "at_local": _local_text(moment, tz_name),
        "actor_type": actor.type,
        "actor_id": str(actor.id),
        "actor_name": actor.name,
        "actor_role": actor.role,
        "action": action,
        "opd_id": opd_id,
        "item_id": item_id,
        "item_version_hash": item_version_hash,
        "category": category,
        "publication_id": publication_id,
        "channel_id": channel_id,
        "channel_kind": channel_kind,
        "result": result,
        "error": error[:2000],
        "detail": _DETAIL_JSON.encode(scrub(detail)),  # scrub made a plain dict
    }


#: PostgreSQL: how long a transaction holding the chain's head may sit idle before the server
#: ends it (milliseconds). Only the head's last statements and the commit follow the lock.
HEAD_IDLE_TIMEOUT_MS = 3000
_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"
# One round trip: the idle timeout is set for the rest of this transaction as the row is locked.
_HEAD_LOCKED = (
    "SELECT seq, hash, set_config('idle_in_transaction_session_timeout', "  # noqa: S608
    f"'{HEAD_IDLE_TIMEOUT_MS}', true) FROM audit_head WHERE id = 1 FOR UPDATE"
)
#: Session.info key of the events waiting for the session's commit.
_PENDING = "publisher_audit_pending"


def append(conn: Connection | Session, events: Iterable[dict[str, Any]]) -> None:
    """Append events to the chain in the caller's transaction.

    Through a Session the events are written when it commits (after its flush), so the head
    is locked only at the end of the transaction. Through a Connection they are written
    now: call it as the transaction's last statement. The transaction must be a write
    transaction (on SQLite ``BEGIN IMMEDIATE``), so the head cannot change before commit.
    """
    rows = list(events)
    if not rows:
        return
    if isinstance(conn, Session):
        conn.info.setdefault(_PENDING, []).extend(rows)
        return
    _write(conn, rows)


def _flush_pending(session: Session) -> None:
    session.flush()  # row locks first: the head is the last lock the transaction takes
    rows = session.info.pop(_PENDING, None)  # (the flush may have added row events)
    if rows:
        _write(session.connection(), rows)


def _forget_pending(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended without committing them
        session.info.pop(_PENDING, None)


# Every Session: only one with appended events does anything.
event.listen(Session, "before_commit", _flush_pending)
event.listen(Session, "after_transaction_end", _forget_pending)


def _write(connection: Connection, rows: list[dict[str, Any]]) -> None:
    # Driver-level: this runs in every queue transaction (see rawsql).
    # SQLite: the caller's BEGIN IMMEDIATE already serialises writers; PostgreSQL: row lock.
    head_sql = _HEAD if connection.dialect.name == "sqlite" else _HEAD_LOCKED
    head = rawsql.fetch(connection, head_sql, ())
    if not head:
        rawsql.fetch(connection, "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, {p}) "
                     "RETURNING id", (GENESIS,))
        seq, prev = 0, GENESIS
        if head_sql is _HEAD_LOCKED:
            rawsql.fetch(connection, _HEAD_LOCKED, ())  # lock the row just created
    else:
        seq, prev = int(head[0][0]), str(head[0][1])
    for row in rows:
        seq += 1
        row["seq"] = seq
        row["prev_hash"] = prev
        row["hash"] = prev = event_hash(row)
    _insert(connection, rows)
    rawsql.executemany(connection, "UPDATE audit_head SET seq = {p}, hash = {p} WHERE id = 1",
                       [(seq, prev)])


_COLUMNS = (*HASHED_FIELDS, "hash")
# Column names are constants of this module; values are bound parameters.
_INSERT = (
    f"INSERT INTO audit_event ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('{p}' for _ in _COLUMNS)})"
)


def _insert(conn: Connection | Session, rows: list[dict[str, Any]]) -> None:
    # Straight to the driver: this runs twice for every publication sent (see rawsql).
    connection = conn.connection() if isinstance(conn, Session) else conn
    at = _COLUMNS.index("at")
    values = []
    for row in rows:
        record = [row[name] for name in _COLUMNS]
        record[at] = rawsql.db_datetime(connection, record[at])
        values.append(record)
    rawsql.executemany(connection, _INSERT, values)


@dataclass
class VerifyResult:
    """What :func:`verify` found."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    bad_seqs: list[int] = field(default_factory=list)
    #: The stored hash at each seq asked for with ``hashes_at`` (checkpoints' heads).
    hashes: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems


def verify(conn: Connection | Session, progress: Any = None, state: bool = True,
           hashes_at: frozenset[int] = frozenset()) -> VerifyResult:
    """Walk the chain in order and report every edited, deleted or moved event; with
    ``state``, also every item or publication whose status changed without an event. The
    hashes at the seqs in ``hashes_at`` are kept in the result, for checkpoints."""
    from .audit_state import StateReplay

    replay = StateReplay() if state else None
    result = VerifyResult()
    expected_seq = 1
    running = GENESIS
    # detail as its stored text: it was written canonical, so it is hashed as it is (no
    # decode and re-encode per event); a row whose text is not canonical is re-checked below.
    columns = [cast(AuditEvent.detail, Text).label("detail") if name == "detail"
               else getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "hash")]
    core = conn.connection() if isinstance(conn, Session) else conn  # no ORM row loading
    stream = core.execute(
        select(*columns).order_by(AuditEvent.seq).execution_options(yield_per=5000)
    )
    pending = 0
    for record in stream:
        values = list(record)
        seq, stored = int(values[_SEQ]), values[_HASH]
        if seq != expected_seq:
            missing = f"#{expected_seq}" if seq == expected_seq + 1 else (
                f"#{expected_seq}–#{seq - 1}"
            )
            result.problems.append(f"event {missing} deleted: the chain jumps to #{seq}")
            result.bad_seqs.append(seq)
        elif values[_PREV] != running:
            result.problems.append(
                f"event #{seq} does not follow event #{seq - 1}: "
                "events were reordered or one before it was replaced"
            )
            result.bad_seqs.append(seq)
        if _values_hash(values) != stored and not _recanonicalised_matches(values, stored):
            result.problems.append(
                f"event #{seq} was edited: its content ({values[_ACTION]}) no longer matches "
                "its hash"
            )
            result.bad_seqs.append(seq)
        running = stored
        expected_seq = seq + 1
        result.checked += 1
        if replay is not None:
            replay.feed_values(values[_ACTION], values[_PUB], values[_ITEM], values[_RESULT],
                               values[_DETAIL])
        if seq in hashes_at:
            result.hashes[seq] = stored
        pending += 1
        if progress is not None and pending == 1000:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    head = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is not None and int(head.seq) >= expected_seq:
        result.problems.append(
            f"events #{expected_seq}–#{head.seq} deleted from the end of the log"
        )
        result.bad_seqs.append(expected_seq)
    elif head is not None and head.hash != running and result.checked:
        result.problems.append(f"the last event #{expected_seq - 1} does not match the chain head")
    if replay is not None:
        result.problems.extend(replay.compare(conn))
    return result


def count(conn: Connection | Session) -> int:
    """Number of events in the log."""
    head = conn.execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar()
    return int(head or 0)


# Every ORM write of a tracked row leaves its fingerprint in the log (the module's hook).
from . import audit_rows  # noqa: E402, F401
