"""Signed checkpoints of the audit chain, in the spirit of Certificate Transparency's signed
tree heads (RFC 6962/9162).

A checkpoint is (event count, seq of the head, head hash, time UTC) as one canonical JSON
line, signed with Ed25519. The private key lives outside the database, so whoever can only
rewrite the database cannot forge a checkpoint: a copy of the checkpoints held elsewhere
(an inspectorate's) proves the chain was not truncated, wiped, extended or recomputed.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from .config import Settings
from .models import AuditEvent, AuditHead
from .timeutil import utcnow

log = logging.getLogger(__name__)

KEY_FILE = "audit_signing_key"
CHECKPOINT_FILE = "audit_checkpoints.jsonl"
JOB_SECONDS = 300.0
_SIGNED_FIELDS = ("count", "head_seq", "head_hash", "time")


class CheckpointError(ValueError):
    """A key or checkpoint that cannot be read."""


def _load_private(text: str) -> Ed25519PrivateKey:
    data = text.strip()
    if data.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(data.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise CheckpointError("the audit signing key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("the audit signing key is neither PEM nor base64") from exc
    if len(raw) != 32:
        raise CheckpointError("a base64 audit signing key must be 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """The configured key (``PUBLISHER_AUDIT_SIGNING_KEY``) or ``<instance>/audit_signing_key``,
    created (mode 0600) on first use."""
    if settings.audit_signing_key:
        return _load_private(settings.audit_signing_key)
    path = Path(settings.instance_path) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    return _load_private(path.read_text())


def public_raw_b64(key: Ed25519PublicKey) -> str:
    """The public key as base64 of its 32 raw bytes."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def public_pem(key: Ed25519PublicKey) -> str:
    """The public key as PEM (SubjectPublicKeyInfo)."""
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(text: str) -> Ed25519PublicKey:
    """A public key from PEM or base64 raw bytes."""
    data = text.strip()
    if data.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(data.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointError("the public key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(data, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise CheckpointError("the public key is neither PEM nor base64 of 32 bytes") from exc


def canonical(body: dict[str, Any]) -> bytes:
    """The signed bytes: one JSON line of the signed fields, sorted keys, no spaces."""
    return json.dumps({k: body[k] for k in _SIGNED_FIELDS}, sort_keys=True,
                      separators=(",", ":")).encode()


def sign(key: Ed25519PrivateKey, count: int, head_seq: int, head_hash: str) -> dict[str, Any]:
    """A checkpoint of the chain state, signed now."""
    body: dict[str, Any] = {"count": count, "head_seq": head_seq, "head_hash": head_hash,
                            "time": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    body["signature"] = base64.b64encode(key.sign(canonical(body))).decode()
    return body


def signature_ok(public: Ed25519PublicKey, checkpoint: dict[str, Any]) -> bool:
    """True when the checkpoint's signature covers its fields under ``public``."""
    try:
        public.verify(base64.b64decode(str(checkpoint["signature"]), validate=True),
                      canonical(checkpoint))
    except (InvalidSignature, KeyError, binascii.Error, TypeError, ValueError):
        return False
    return True


def checkpoint_path(settings: Settings) -> Path:
    """``<instance>/audit_checkpoints.jsonl``."""
    return Path(settings.instance_path) / CHECKPOINT_FILE


def parse_lines(text: str) -> list[dict[str, Any]]:
    """Checkpoints from JSON lines or a JSON list."""
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        data = json.loads(stripped)
        if not isinstance(data, list):
            raise CheckpointError("expected a JSON list of checkpoints")
        return [dict(c) for c in data]
    return [json.loads(line) for line in stripped.splitlines() if line.strip()]


def read_all(settings: Settings) -> list[dict[str, Any]]:
    """Every checkpoint in the instance file, oldest first."""
    path = checkpoint_path(settings)
    return parse_lines(path.read_text()) if path.exists() else []


def latest(settings: Settings) -> dict[str, Any] | None:
    """The newest checkpoint in the instance file (read from its end: the file only grows)."""
    path = checkpoint_path(settings)
    try:
        with path.open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - 4096))
            tail = file.read().decode()
    except FileNotFoundError:
        return None
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines or (len(lines) == 1 and size > 4096):
        return read_all(settings)[-1] if size else None  # a line longer than the tail read
    return dict(json.loads(lines[-1]))


def _head(conn: Connection | Session) -> tuple[int, int, str]:
    row = conn.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if row is None:
        return 0, 0, "0" * 64
    seq = int(row.seq)
    return seq, seq, str(row.hash)


def extends(conn: Connection | Session, checkpoint: dict[str, Any]) -> str | None:
    """Why the chain in the database does not extend ``checkpoint`` (a head signed before),
    or None when it does: the event at its head seq must still carry its head hash."""
    try:
        seq, count = int(checkpoint["head_seq"]), int(checkpoint["count"])
        signed_hash = str(checkpoint["head_hash"])
    except (KeyError, TypeError, ValueError):
        return "a checkpoint on record cannot be read"
    if seq == 0:
        return None
    stored = conn.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq)).scalar()
    if stored is None:
        return f"the chain no longer reaches seq #{seq} of the checkpoint on record ({count})"
    if stored != signed_hash:
        return (f"the hash at seq #{seq} differs from the checkpoint on record: the chain was "
                "recomputed or edited")
    return None


def write_checkpoint(settings: Settings, conn: Connection | Session,
                     witnessed: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Append a signed checkpoint of the current head if the chain grew since the last one
    (or none exists); returns it, or None when nothing was written.

    Never signs a head that does not extend the last checkpoint on record here, nor
    ``witnessed`` (the newest one an external witness keeps): signing a recomputed chain
    would lend it the key's authority. That is refused and logged as an error.
    """
    count, head_seq, head_hash = _head(conn)
    last = latest(settings)
    for source, earlier in (("instance", last), ("witness", witnessed)):
        problem = extends(conn, earlier) if earlier is not None else None
        if problem:
            log.error("audit checkpoint NOT signed: %s (%s copy); run publisher audit verify",
                      problem, source)
            return None
    if witnessed is not None and int(witnessed.get("count", -1)) >= count:
        return None
    if last is not None and int(last.get("count", -1)) >= count:
        return None
    checkpoint = sign(signing_key(settings), count, head_seq, head_hash)
    path = checkpoint_path(settings)
    line = (json.dumps(checkpoint, sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint


@dataclass(frozen=True, slots=True)
class Signed:
    """A checkpoint as verify needs it (a few dozen bytes, not a parsed dict): its place in
    its source, its head and count; ``head_hash`` None when its signature is bad."""

    index: int
    head_seq: int
    count: int
    time: str
    head_hash: str | None


def iter_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Checkpoints from JSON lines, one at a time (a JSON list works too, read whole)."""
    buffered = iter(lines)
    for line in buffered:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("["):
            yield from parse_lines(stripped + "".join(buffered))
            return
        try:
            record = json.loads(stripped)
        except ValueError as exc:
            raise CheckpointError(f"a checkpoint line is not JSON: {exc}") from None
        if not isinstance(record, dict):
            raise CheckpointError("a checkpoint line is not a JSON object")
        yield record


def verified(public: Ed25519PublicKey, records: Iterable[dict[str, Any]]) -> list[Signed]:
    """Each checkpoint's signature checked now, kept in the compact form."""
    kept = []
    for index, record in enumerate(records, start=1):
        good = signature_ok(public, record)
        try:
            head_seq, count = int(record["head_seq"]), int(record["count"])
        except (KeyError, TypeError, ValueError):
            head_seq, count, good = -1, -1, False
        kept.append(Signed(index, head_seq, count, str(record.get("time", "")),
                           str(record["head_hash"]) if good else None))
    return kept


def head_seqs(signed: Iterable[Signed]) -> frozenset[int]:
    """The head seqs of the well-signed checkpoints (what :func:`check` needs hashes for)."""
    return frozenset(cp.head_seq for cp in signed if cp.head_hash is not None)


def check(conn: Connection | Session, signed: Iterable[Signed], source: str = "",
          hashes: dict[int, str] | None = None) -> list[str]:
    """Check the database chain against each verified checkpoint; one problem per checkpoint
    that no longer matches, naming it and why. ``hashes`` (seq → stored hash, from the verify
    pass) saves a query per checkpoint."""
    problems: list[str] = []
    count, _, _ = _head(conn)
    # max(), not ORDER BY ... first(): an ORM result buffers every row it could return.
    last_seq = int(conn.execute(select(func.max(AuditEvent.seq))).scalar() or 0)
    for cp in signed:
        name = f"checkpoint {cp.index}{' of ' + source if source else ''} " \
               f"(#{cp.head_seq}, {cp.time})"
        if cp.head_hash is None:
            problems.append(f"{name}: bad signature — checkpoint refused (not signed by this key)")
            continue
        if cp.head_seq == 0:
            continue
        if hashes is not None:
            stored = hashes.get(cp.head_seq)
        else:
            row = conn.execute(select(AuditEvent.hash)
                               .where(AuditEvent.seq == cp.head_seq)).first()
            stored = row.hash if row is not None else None
        if stored is None:
            if last_seq == 0:
                problems.append(f"{name}: the log was wiped — no events, "
                                f"the checkpoint has {cp.count}")
            else:
                problems.append(f"{name}: truncated — events after seq #{last_seq} missing "
                                f"(the checkpoint has #{cp.head_seq})")
        elif stored != cp.head_hash:
            problems.append(f"{name}: chain recomputed, edited or an event inserted — "
                            f"hash at seq #{cp.head_seq} differs from the signed head hash")
        elif max(count, last_seq) < cp.count:
            problems.append(f"{name}: the log has {max(count, last_seq)} events, "
                            f"fewer than the signed count {cp.count}")
    return problems
