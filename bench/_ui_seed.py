"""Realistic admin-UI data for benchmarks and screenshots: OPDs, people and channels through
the services; items, versions, publications and audit events with Core bulk inserts."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, inspect, select

from publisher import audit
from publisher.access import Principal
from publisher.db import Base
from publisher.models import (
    Category,
    Item,
    ItemStatus,
    ItemVersion,
    Publication,
    PublicationStatus,
    Role,
)
from publisher.runtime import Runtime
from publisher.services import admin, channels
from publisher.timeutil import utcnow

PASSWORD = "bench-password-123"
ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak")
TITLES = (
    "Jadwal Posyandu", "Pengumuman Lelang Pengadaan", "Laporan Keuangan Triwulan",
    "Rencana Kerja Tahunan", "Jadwal Pelayanan KTP Keliling", "Hasil Musyawarah Desa",
    "Peringatan Dini Banjir", "Daftar Penerima Bantuan Sosial", "Realisasi Anggaran",
    "Pembukaan Pendaftaran Beasiswa",
)


@dataclass
class Seeded:
    """Ids of what was made."""

    opd_ids: list[int] = field(default_factory=list)
    channel_ids: dict[int, list[int]] = field(default_factory=dict)
    admin_user: str = "admin"
    editor_user: str = "operator1"
    approver_user: str = "ppid1"


def ensure_model_indexes(rt: Runtime) -> None:
    """Create any index declared in the models that the migration does not have yet."""
    with rt.db.engine.begin() as conn:
        existing = set(inspect(conn).get_table_names())
        for table in Base.metadata.sorted_tables:
            if table.name not in existing:
                continue
            for index in table.indexes:
                index.create(conn, checkfirst=True)


def seed_people_and_channels(rt: Runtime, n_opds: int, webhook_url: str | None = None,
                             extra_channels: int = 3) -> Seeded:
    """``n_opds`` OPDs, an admin, an editor and approver per OPD, a site channel and
    ``extra_channels`` webhook channels each."""
    out = Seeded()
    with rt.db.write() as s:
        boss = admin.create_user(s, None, "admin", PASSWORD, full_name="Admin PPID Utama",
                                 roles=[(Role.ADMIN, None)])
        s.flush()
        principal = Principal.of(boss)
        names = ["Dinas Komunikasi dan Informatika", "Kecamatan Sei Rampah"] + [
            f"Dinas Uji {i}" for i in range(3, n_opds + 1)]
        for i, name in enumerate(names[:n_opds], start=1):
            opd = admin.create_opd(s, None, name, timezone=ZONES[(i - 1) % len(ZONES)])
            s.flush()
            admin.create_user(s, None, f"operator{i}", PASSWORD, full_name=f"Operator {i}",
                              nip=f"19800101201001{i:04d}", jabatan="Operator PPID",
                              roles=[(Role.EDITOR, opd.id)])
            admin.create_user(s, None, f"ppid{i}", PASSWORD, full_name=f"PPID Pelaksana {i}",
                              jabatan="PPID Pelaksana", roles=[(Role.APPROVER, opd.id)])
            site = channels.create_channel(s, principal, rt, opd.id, "site", "Situs OPD",
                                           schedule=[{"days": [0, 1, 2, 3, 4],
                                                      "times": ["08:00", "12:00"]}])
            hooks = [
                channels.create_channel(
                    s, principal, rt, opd.id, "webhook", name,
                    config={"url": webhook_url or "http://127.0.0.1:9/webhook"})
                for name in ("CMS OPD", "Portal Pemda", "Aplikasi Warga")[:extra_channels]
            ]
            s.flush()
            out.opd_ids.append(opd.id)
            out.channel_ids[opd.id] = [site.id, *(h.id for h in hooks)]
    return out


def seed_items(rt: Runtime, seeded: Seeded, n_items: int, n_pubs: int,
               days_back: int = 365, days_ahead: int = 30, chunk: int = 2000,
               audit_events: bool = True) -> None:
    """``n_items`` items spread over the past year and the next month, with about ``n_pubs``
    publications on the OPD's channels (approved items only)."""
    approved = n_items * 0.97
    base = max(1, int(n_pubs // approved))
    extra_every = max(1, round(approved / max(1, n_pubs - base * approved)))
    rnd = random.Random(5)
    now = utcnow()
    user_rows = {}
    with rt.db.read() as s:
        from publisher.models import User

        for u in s.scalars(select(User)):
            user_rows[u.username] = u.id
    for start in range(0, n_items, chunk):
        size = min(chunk, n_items - start)
        items: list[dict[str, Any]] = []
        plans = []
        for i in range(start, start + size):
            opd_index = i % len(seeded.opd_ids)
            opd_id = seeded.opd_ids[opd_index]
            offset = timedelta(minutes=rnd.randint(-days_back * 1440, days_ahead * 1440))
            when = now + offset
            title = f"{TITLES[i % len(TITLES)]} {i + 1}"
            category = (Category.BERKALA, Category.SERTA_MERTA, Category.SETIAP_SAAT)[i % 3]
            status = ItemStatus.APPROVED
            if when > now and i % 10 == 0:
                status = ItemStatus.SUBMITTED
            elif i % 50 == 1:
                status = ItemStatus.DRAFT
            digest = hashlib.sha256(title.encode()).hexdigest()
            items.append({
                "opd_id": opd_id, "slug": title.lower().replace(" ", "-"), "title": title,
                "body_html": f"<p>{title}: informasi untuk masyarakat.</p>",
                "summary": f"Ringkasan {title.lower()}", "category": category,
                "status": status, "content_hash": digest, "info_formats": ["online"],
                "version": 1, "schedule_mode": "at", "publish_at": when, "source": "bench",
                "created_at": when - timedelta(days=1), "updated_at": when - timedelta(days=1),
                "official_unit": "Bidang Informasi dan Komunikasi Publik",
                "responsible": "PPID Pelaksana", "made_place": "Sei Rampah",
                "retention": "5 tahun", "link": "", "exemption_basis": "", "review_comment": "",
                "source_ref": "", "created_by_id": user_rows.get(f"operator{opd_index + 1}"),
                "approved_by_id": user_rows.get(f"ppid{opd_index + 1}")
                if status == ItemStatus.APPROVED else None,
                "submitted_at": when - timedelta(hours=20),
                "approved_at": when - timedelta(hours=12)
                if status == ItemStatus.APPROVED else None,
            })
            plans.append((opd_id, when, status, i))
        with rt.db.write_conn() as conn:
            ids = [r.id for r in conn.execute(insert(Item).returning(Item.id), items)]
            conn.execute(insert(ItemVersion), [
                {"item_id": item_id, "version": 1, "content_hash": row["content_hash"],
                 "snapshot": {"title": row["title"]}, "created_at": row["created_at"]}
                for item_id, row in zip(ids, items, strict=True)])
            pubs = []
            for item_id, (opd_id, when, status, i) in zip(ids, plans, strict=True):
                if status != ItemStatus.APPROVED:
                    continue
                chans = seeded.channel_ids[opd_id]
                count = base + (1 if i % extra_every == 0 else 0)
                for k in range(min(count, len(chans))):
                    channel_id = chans[k % len(chans)]
                    pub_status, published_at, error = _pub_state(when, now, i, k)
                    pubs.append({
                        "item_id": item_id, "channel_id": channel_id, "opd_id": opd_id,
                        "status": pub_status, "priority": 0, "due_at": when, "attempts":
                        1 if published_at or error else 0, "needs_reconcile": False,
                        "fingerprint": f"pub-{item_id}-{k}", "sent_hash": "",
                        "published_at": published_at,
                        "url": f"{rt.settings.public_base_url}/o/x/i/{item_id}/x"
                        if published_at else None,
                        "error_kind": "permanent" if error else None, "last_error": error,
                        "created_at": when, "updated_at": published_at or when,
                        "remote_id": f"r-{item_id}-{k}" if published_at else None,
                    })
            if pubs:
                conn.execute(insert(Publication), pubs)
            if audit_events:
                actor = audit.Actor("user", "1", "Operator", "editor")
                audit.append(conn, [
                    audit.make_event(actor, "item.created", at=row["created_at"],
                                     opd_id=row["opd_id"], item_id=item_id,
                                     item_version_hash=row["content_hash"],
                                     category=row["category"])
                    for item_id, row in zip(ids, items, strict=True)])


def _pub_state(when: Any, now: Any, i: int, k: int) -> tuple[str, Any, str | None]:
    if when > now:
        return PublicationStatus.SCHEDULED, None, None
    if (i + k) % 97 == 0:
        return (PublicationStatus.FAILED, None,
                "Penerima webhook menolak isi kiriman (HTTP 400): kategori wajib diisi")
    return PublicationStatus.PUBLISHED, when + timedelta(seconds=2), None
