"""Signed checkpoints anchor the audit chain: truncating, wiping, extending or recomputing the
log in the database is found by ``publisher audit verify`` even when the chain itself is
consistent again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from werkzeug.serving import make_server

from publisher import audit, checkpoints
from publisher.models import AuditEvent, Role

from .factories import Factory
from .tampering import unguarded
from .test_audit_tamper import _history


def _more(make: Factory) -> None:
    opd = make.opd("Kecamatan Tebing Tinggi")
    editor = make.person(Role.EDITOR, opd)
    approver = make.person(Role.APPROVER, opd)
    site = make.channel(opd, "site")
    make.published_item(editor, approver, opd, [site.id])
    make.dispatcher().drain()


def _cli(runtime, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "PUBLISHER_DATABASE_URL": runtime.settings.database_url,
           "PUBLISHER_SECRET_KEY": runtime.settings.secret_key,
           "PUBLISHER_INSTANCE_PATH": str(runtime.settings.instance_path)}
    env.pop("PUBLISHER_AUDIT_SIGNING_KEY", None)
    return subprocess.run([sys.executable, "-m", "publisher", "audit", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def _rows(runtime) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    columns = [getattr(AuditEvent, n) for n in (*audit.HASHED_FIELDS, "hash")]
    with runtime.db.read() as s:
        return [r._asdict() for r in s.execute(select(*columns).order_by(AuditEvent.seq))]


def _rewrite_from(runtime, seq: int, rows: list[dict[str, Any]]) -> None:  # type: ignore[no-untyped-def]
    """Delete events from ``seq`` on and append ``rows`` with correctly computed hashes, so the
    chain and the head row are consistent again."""
    before = [r for r in _rows(runtime) if r["seq"] < seq]
    head = (before[-1]["seq"], before[-1]["hash"]) if before else (0, audit.GENESIS)
    with runtime.db.engine.begin() as conn, unguarded(conn):
        conn.execute(text("DELETE FROM audit_event WHERE seq >= :s"), {"s": seq})
        conn.execute(text("UPDATE audit_head SET seq = :q, hash = :h WHERE id = 1"),
                     {"q": head[0], "h": head[1]})
        fresh = [{k: v for k, v in r.items() if k not in ("seq", "prev_hash", "hash")}
                 for r in rows]
        for row in fresh:
            if not isinstance(row["detail"], str):
                row["detail"] = audit.canonical_detail(row["detail"])
        if fresh:
            audit.append(conn, fresh)


@pytest.fixture()
def anchored(make: Factory, runtime) -> int:  # type: ignore[no-untyped-def]
    """A history with a checkpoint written by ``audit verify``; returns the last seq."""
    _history(make)
    done = _cli(runtime, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = checkpoints.read_all(runtime.settings)
    assert len(lines) == 1
    with runtime.db.read() as s:
        last = audit.count(s)
    assert lines[0]["head_seq"] == lines[0]["count"] == last
    return last


def _broken(runtime, needle: str, *args: str) -> None:  # type: ignore[no-untyped-def]
    with runtime.db.read() as s:
        chain_only = audit.verify(s, state=False)
    assert chain_only.ok, "the chain alone looks intact: only the checkpoint sees it"
    done = _cli(runtime, "verify", *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "checkpoint 1" in done.stdout and needle in done.stdout, done.stdout


def test_clean_chain_passes_and_file_is_append_only(make: Factory, runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    path = checkpoints.checkpoint_path(runtime.settings)
    first = path.read_text()
    assert _cli(runtime, "verify").returncode == 0
    assert path.read_text() == first, "no new checkpoint while the chain did not grow"
    _more(make)
    assert _cli(runtime, "verify").returncode == 0
    text_now = path.read_text()
    assert text_now.startswith(first) and len(text_now.splitlines()) == 2
    later = checkpoints.read_all(runtime.settings)[1]
    assert later["count"] > anchored
    public = checkpoints.signing_key(runtime.settings).public_key()
    assert all(checkpoints.signature_ok(public, c) for c in checkpoints.read_all(runtime.settings))
    key_file = runtime.settings.instance_path / checkpoints.KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0


def test_truncated_tail_with_fixed_head(runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    _rewrite_from(runtime, anchored - 1, [])
    _broken(runtime, f"truncated — events after seq #{anchored - 2} missing")


def test_wiped_log(runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    _rewrite_from(runtime, 1, [])
    _broken(runtime, "the log was wiped")


def test_inserted_event_with_correct_hash(runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    forged = audit.make_event(audit.Actor.system("cli"), "publication.cancelled",
                              result="cancelled")
    last = _rows(runtime)[-1]
    _rewrite_from(runtime, anchored, [forged, last])
    _broken(runtime, f"hash at seq #{anchored} differs")


def test_edited_and_recomputed_chain(runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    rows = [r for r in _rows(runtime) if r["seq"] >= 3]
    rows[0]["result"] = "failed"
    _rewrite_from(runtime, 3, rows)
    _broken(runtime, f"hash at seq #{anchored} differs")


def test_bad_signature_is_refused(runtime, anchored: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    cp = checkpoints.read_all(runtime.settings)[0]
    cp["count"] = cp["count"] + 1
    forged = tmp_path / "forged.jsonl"
    forged.write_text(json.dumps(cp) + "\n")
    done = _cli(runtime, "verify", "--checkpoints", str(forged))
    assert done.returncode == 1
    assert "bad signature" in done.stdout


def test_public_key_command_and_explicit_key(runtime, anchored: int, tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = _cli(runtime, "public-key")
    assert done.returncode == 0
    raw, pem = done.stdout.split("\n", 1)
    public = checkpoints.signing_key(runtime.settings).public_key()
    assert raw == checkpoints.public_raw_b64(public) and "BEGIN PUBLIC KEY" in pem
    file = str(checkpoints.checkpoint_path(runtime.settings))
    assert _cli(runtime, "verify", "--checkpoints", file, "--public-key", raw).returncode == 0
    other = checkpoints.public_raw_b64(
        checkpoints._load_private("A" * 43 + "=").public_key())
    done = _cli(runtime, "verify", "--checkpoints", file, "--public-key", other)
    assert done.returncode == 1 and "bad signature" in done.stdout


@pytest.fixture()
def served(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


def test_public_routes_serve_checkpoints(runtime, anchored: int, served: str, client) -> None:  # type: ignore[no-untyped-def]
    listed = client.get("/audit/checkpoints").get_json()
    assert listed == checkpoints.read_all(runtime.settings)
    jsonl = client.get("/audit/checkpoints?format=jsonl").get_data(as_text=True)
    assert checkpoints.parse_lines(jsonl) == listed
    key = client.get("/audit/public-key").get_json()
    assert key["algorithm"] == "Ed25519" and "BEGIN PUBLIC KEY" in key["pem"]

    url = f"{served}/audit/checkpoints"
    done = _cli(runtime, "verify", "--checkpoints", url)
    assert done.returncode == 0, done.stdout + done.stderr
    # an inspectorate's copy survives a truncation that also wipes the instance file
    copy = checkpoints.parse_lines(client.get("/audit/checkpoints").get_data(as_text=True))
    checkpoints.checkpoint_path(runtime.settings).unlink()
    _rewrite_from(runtime, anchored, [])
    kept = checkpoints.checkpoint_path(runtime.settings).with_name("inspectorate.jsonl")
    kept.write_text("".join(json.dumps(c) + "\n" for c in copy))
    _broken(runtime, "truncated", "--checkpoints", str(kept))


# --- never signing a recomputed chain; an external witness -------------------------------------


class Witness:
    """A loopback witness: keeps every checkpoint POSTed to it, returns them as JSON lines."""

    def __init__(self) -> None:
        from .loopback_http import LoopbackServer, send

        self.kept: list[dict[str, Any]] = []
        self.server = LoopbackServer()

        def handle(h: Any) -> None:
            if h.command == "POST":  # (the server has read the body into its request log)
                self.kept.append(json.loads(self.server.requests[-1]["body"]))
                send(h, 201, b"{}", "application/json")
            else:
                body = "".join(json.dumps(c) + "\n" for c in self.kept).encode()
                send(h, 200, body, "application/x-ndjson")

        self.server.route("/saksi", handle)
        self.server.start()
        self.url = self.server.url("/saksi")


def _recompute(runtime, anchored: int) -> None:  # type: ignore[no-untyped-def]
    """Edit an early event and recompute the whole chain after it, consistently."""
    rows = _rows(runtime)
    rows[2]["error"] = "diubah diam-diam"
    _rewrite_from(runtime, rows[2]["seq"], rows[2:])


def test_a_recomputed_chain_is_never_signed(anchored: int, runtime) -> None:  # type: ignore[no-untyped-def]
    _recompute(runtime, anchored)
    before = checkpoints.read_all(runtime.settings)
    with runtime.db.read() as s:
        assert checkpoints.write_checkpoint(runtime.settings, s) is None
    assert checkpoints.read_all(runtime.settings) == before  # the forged head stays unsigned


def test_a_witness_keeps_what_an_emptied_checkpoint_file_lost(
    make: Factory, runtime, monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    from publisher.jobs import checkpoint_audit

    witness = Witness()
    try:
        runtime.settings.audit_witness_url = witness.url
        _history(make)
        checkpoint_audit(runtime)
        assert len(witness.kept) == 1 and witness.kept == checkpoints.read_all(runtime.settings)
        _more(make)
        checkpoint_audit(runtime)
        assert len(witness.kept) == 2  # each new checkpoint is handed over

        # Someone with the database and the instance folder, not the key:
        checkpoints.checkpoint_path(runtime.settings).write_text("")
        rows = _rows(runtime)
        rows[1]["error"] = "diubah diam-diam"
        _rewrite_from(runtime, rows[1]["seq"], rows[1:])
        checkpoint_audit(runtime)  # the witness's newest is not extended: nothing is signed
        assert checkpoints.read_all(runtime.settings) == [] and len(witness.kept) == 2

        monkeypatch.setenv("PUBLISHER_AUDIT_WITNESS_URL", witness.url)
        done = _cli(runtime, "verify")
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"Dibandingkan dengan saksi luar {witness.url}: 2 checkpoint" in done.stdout
        assert "chain recomputed" in done.stdout
        monkeypatch.delenv("PUBLISHER_AUDIT_WITNESS_URL")
        alone = _cli(runtime, "verify")  # without the witness the forgery cannot be seen...
        assert "Tidak dibandingkan dengan saksi luar" in alone.stdout  # ...and verify says so
    finally:
        witness.server.stop()
