"""``Idempotency-Key`` on POST: a retried request gets the first answer, not a second effect.

Per user and key, the first request is recorded (in its own committed transaction) before the
view runs, and its response stored when it ends. Then:

- same key, same request → the stored response, with ``Idempotent-Replayed: true``;
- same key, different request (method, path or body) → 422;
- same key while the first request is still running → 409 (``Retry-After: 1``);
- a 5xx answer is not stored (the client may retry with the same key); neither is one whose
  request crashed. Records expire after 24 hours; one left "in progress" by a killed process is
  taken over after ``ABANDONED_AFTER``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from flask import Response, g, request
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..app import get_runtime
from ..db import Database
from ..models import IdempotencyRecord
from ..timeutil import utcnow
from .auth import current_principal
from .problems import field_error, problem

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
TTL = timedelta(hours=24)
ABANDONED_AFTER = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
#: Response headers kept with the stored response.
_KEPT_HEADERS = ("Content-Type", "Location")


def request_fingerprint() -> str:
    """SHA-256 of the request's method, path, query and body.

    Multipart bodies are hashed by their parsed fields and file contents, so a client that
    retries with a new boundary string is still recognised as sending the same request.
    """
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}?{request.query_string.decode()}\n".encode())
    if request.mimetype == "multipart/form-data":
        form = sorted((k, v) for k, values in request.form.lists() for v in values)
        files = []
        for name, storage in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            content = storage.stream.read()
            storage.stream.seek(0)
            files.append([name, storage.filename or "", hashlib.sha256(content).hexdigest()])
        digest.update(json.dumps({"form": form, "files": files}).encode())
    else:
        digest.update(request.mimetype.encode() + b"\n")
        digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _bad_key(detail: str) -> Response:
    return problem(400, detail, errors=[field_error(HEADER, detail)])


def begin() -> Response | None:
    """Before a POST view: replay, refuse, or record the request as in progress."""
    if request.method != "POST" or HEADER not in request.headers:
        return None
    key = request.headers[HEADER].strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        return _bad_key(f"{HEADER} harus 1–{MAX_KEY_LENGTH} karakter ASCII yang terlihat")
    user_id = current_principal().user_id
    fingerprint = request_fingerprint()
    now = utcnow()
    runtime = get_runtime()
    try:
        with runtime.db.write() as session:
            record = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
                )
            ).first()
            if record is not None and (
                record.created_at <= now - TTL
                or (record.status_code is None and record.created_at <= now - ABANDONED_AFTER)
            ):
                session.delete(record)
                session.flush()
                record = None
            if record is None:
                session.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.user_id == user_id,
                        IdempotencyRecord.created_at <= now - TTL,
                    )
                )
                new = IdempotencyRecord(
                    user_id=user_id, key=key, method=request.method, path=request.path,
                    request_hash=fingerprint, created_at=now,
                )
                session.add(new)
                session.flush()
                g.idempotency_record_id = new.id
                return None
            if (record.method, record.path, record.request_hash) != (
                request.method, request.path, fingerprint
            ):
                return problem(
                    422,
                    f"{HEADER} {key!r} sudah dipakai untuk permintaan lain; gunakan kunci baru "
                    "untuk permintaan yang berbeda",
                    type_slug="idempotency-key-reused", errors=[field_error(HEADER, "dipakai")],
                )
            if record.status_code is None:
                return problem(
                    409, f"permintaan dengan {HEADER} {key!r} masih diproses; coba lagi sebentar",
                    type_slug="idempotency-in-progress", headers={"Retry-After": "1"},
                )
            return _replay(record)
    except IntegrityError:
        # Another request with the same key recorded itself between our read and insert.
        return problem(409, f"permintaan dengan {HEADER} {key!r} masih diproses",
                       type_slug="idempotency-in-progress", headers={"Retry-After": "1"})


def _replay(record: IdempotencyRecord) -> Response:
    headers = dict(record.response_headers or {})
    response = Response(record.response_body or "", status=record.status_code or 200)
    for name, value in headers.items():
        response.headers[name] = value
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _close_request_session() -> None:
    """End the request's own transaction first: on SQLite it may hold the write lock."""
    session = g.pop("_db_session", None)
    if session is not None:
        session.rollback()
        session.close()


def finish(response: Response) -> Response:
    """After the view: store the response of a recorded request (5xx: forget the key)."""
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return response
    _close_request_session()
    with get_runtime().db.write() as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is None:
            return response
        if response.status_code >= 500:
            session.delete(record)
            return response
        record.status_code = response.status_code
        record.response_body = response.get_data(as_text=True)
        record.response_headers = {
            name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers
        }
    return response


def abandon(_exc: BaseException | None) -> None:
    """At teardown: a request that never produced a response leaves no in-progress record."""
    record_id = g.pop("idempotency_record_id", None)
    if record_id is None:
        return
    _close_request_session()
    with get_runtime().db.write() as session:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))


def purge_expired(db: Database) -> int:
    """Delete every stored response older than 24 hours; returns how many (for a periodic job)."""
    with db.write() as session:
        result = session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at <= utcnow() - TTL)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
