"""Fast seeding for benchmarks: Core bulk inserts of items and publications, with the audit
events the software writes for them (so ``publisher audit verify`` finds state and log agree)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from publisher import audit, audit_rows
from publisher.models import Item, ItemStatus, Publication, PublicationStatus
from publisher.runtime import Runtime
from publisher.services import admin, channels


def seed_opd_and_channel(
    rt: Runtime, kind: str, config: dict[str, Any] | None = None
) -> tuple[int, int]:
    """One OPD and one channel of ``kind``; returns (opd_id, channel_id)."""
    from publisher.access import Principal
    from publisher.models import Role

    with rt.db.write() as s:
        opd = admin.create_opd(s, None, "Dinas Komunikasi dan Informatika")
        user = admin.create_user(s, None, "bench-admin", "bench-password-123",
                                 roles=[(Role.ADMIN, None)])
        s.flush()
        principal = Principal.of(user)
        chan = channels.create_channel(s, principal, rt, opd.id, kind, f"{kind} bench",
                                       config=config or {})
        s.flush()
        return opd.id, chan.id


def seed_publications(rt: Runtime, opd_id: int, channel_id: int, n: int, due_at: datetime,
                      chunk: int = 2000, events: bool = True) -> None:
    """``n`` approved items, each with one publication due at ``due_at``; with ``events``,
    the audit events approving and scheduling them (without, the caller writes its own)."""
    actor = audit.Actor.system("bench-seed")
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        with rt.db.write_conn() as conn:
            rows = []
            for i in range(start, start + size):
                title = f"Pengumuman jadwal layanan publik nomor {i}"
                rows.append({
                    "opd_id": opd_id, "slug": f"pengumuman-{i}", "title": title,
                    "body_html": f"<p>{title}. Layanan buka pukul 08.00–15.00 WIB.</p>",
                    "summary": f"Ringkasan {title}", "category": "berkala",
                    "status": ItemStatus.APPROVED, "content_hash": hashlib.sha256(
                        title.encode()).hexdigest(), "info_formats": ["online"],
                    "version": 1, "schedule_mode": "at", "publish_at": due_at,
                    "source": "bench", "created_at": due_at, "updated_at": due_at,
                    "official_unit": "Bidang IKP", "responsible": "PPID Pelaksana",
                    "made_place": "Sei Rampah", "retention": "5 tahun", "link": "",
                    "exemption_basis": "", "review_comment": "", "source_ref": "",
                })
            ids = [r.id for r in conn.execute(insert(Item).returning(Item.id), rows)]
            pairs = [tuple(r) for r in conn.execute(
                insert(Publication).returning(Publication.item_id, Publication.id), [
                {"item_id": item_id, "channel_id": channel_id, "opd_id": opd_id,
                 "status": PublicationStatus.SCHEDULED, "priority": 0, "due_at": due_at,
                 "attempts": 0, "needs_reconcile": False, "fingerprint": f"pub-{item_id}",
                 "sent_hash": "", "created_at": due_at, "updated_at": due_at}
                for item_id in ids
            ])]
            if not events:
                continue
            # written around the ORM: their fingerprints are recorded here (see audit_rows)
            log = audit_rows.row_events(conn, Item, ids, actor, at=due_at)
            for item_id, pub_id in pairs:
                log.append(audit.make_event(actor, "item.approved", at=due_at, opd_id=opd_id,
                                            item_id=item_id, category="berkala"))
                log.append(audit.make_event(
                    actor, "publication.scheduled", at=due_at, opd_id=opd_id, item_id=item_id,
                    publication_id=pub_id, channel_id=channel_id,
                    result=PublicationStatus.SCHEDULED))
            audit.append(conn, log)
