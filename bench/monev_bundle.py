"""``publisher monev`` for a large Pemda: wall time and peak memory of the whole-Pemda bundle.

    .venv/bin/python bench/monev_bundle.py [--opds 40] [--items 10000] [--pubs 30000]
                                            [--dik 400] [--database-url postgresql://...]

Seeds (OPDs, people, channels and atasan PPID designations through the services; items,
publications and DIK entries with approved versions by Core bulk insert) a year's worth of
data for the previous calendar year: every item has publications on up to three of its
OPD's channels, mostly published, a third of the items serta merta. Every tenth OPD has no
atasan PPID (so its penetapan is skipped with a note). Then it runs the real command in a
child process — ``publisher monev --year Y -o FILE`` — and prints its wall time and peak
resident memory (the child's own ``VmHWM``, see ``bench/audit_verify.py``), and the size and
member count of the ZIP.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bench import _peak
from bench._ui_seed import Seeded, seed_people_and_channels
from publisher.access import Principal
from publisher.config import Settings
from publisher.db import Database
from publisher.migrate import upgrade
from publisher.models import (
    Category,
    DikEntry,
    DikVersion,
    Item,
    ItemStatus,
    Opd,
    Publication,
    PublicationStatus,
    User,
)
from publisher.runtime import Runtime
from publisher.services import dik

SECRET = "bench-secret-key-0001"
TITLES = ("Jadwal Posyandu", "Pengumuman Lelang Pengadaan", "Laporan Keuangan Triwulan",
          "Rencana Kerja Tahunan", "Peringatan Dini Banjir", "Daftar Penerima Bantuan Sosial",
          "Realisasi Anggaran", "Pembukaan Pendaftaran Beasiswa")


def designate(rt: Runtime, seeded: Seeded) -> None:
    """An atasan PPID for nine OPDs in ten."""
    with rt.db.write() as s:
        boss = Principal.of(s.scalars(select(User).where(User.username == "admin")).one())
        for i, opd_id in enumerate(seeded.opd_ids, start=1):
            if i % 10 == 0:
                continue
            user = s.scalars(select(User).where(User.username == f"ppid{i}")).one()
            dik.designate(s, boss, opd_id, user.id, f"Kepala Dinas Uji {i}",
                          name=f"Kepala Dinas {i}", nip=f"19700101199503{i:04d}")


def seed_items(rt: Runtime, seeded: Seeded, year: int, n_items: int, n_pubs: int,
               chunk: int = 2000) -> None:
    rnd = random.Random(7)
    start = datetime(year, 1, 1, 1, tzinfo=UTC)
    span = int((datetime(year, 12, 31, 12, tzinfo=UTC) - start).total_seconds())
    per_item = n_pubs / n_items
    made = 0
    for first in range(0, n_items, chunk):
        rows: list[dict[str, Any]] = []
        plans = []
        for i in range(first, min(n_items, first + chunk)):
            opd_index = i % len(seeded.opd_ids)
            opd_id = seeded.opd_ids[opd_index]
            when = start + timedelta(seconds=rnd.randint(0, span))
            title = f"{TITLES[i % len(TITLES)]} {i + 1}"
            category = (Category.BERKALA, Category.SERTA_MERTA, Category.SETIAP_SAAT)[i % 3]
            rows.append({
                "opd_id": opd_id, "slug": title.lower().replace(" ", "-"), "title": title,
                "body_html": f"<p>{title}: informasi untuk masyarakat.</p>",
                "summary": f"Ringkasan {title.lower()} untuk masyarakat umum",
                "category": category, "status": ItemStatus.APPROVED,
                "content_hash": hashlib.sha256(title.encode()).hexdigest(),
                "info_formats": ["online", "cetak"] if i % 4 == 0 else ["online"],
                "version": 1, "schedule_mode": "at", "publish_at": when, "source": "bench",
                "created_at": when - timedelta(hours=3), "updated_at": when,
                "official_unit": "Bidang Informasi dan Komunikasi Publik",
                "responsible": "PPID Pelaksana", "made_place": "Sei Rampah",
                "retention": "5 tahun", "link": "", "exemption_basis": "",
                "review_comment": "", "source_ref": "",
                "submitted_at": when - timedelta(hours=2),
                "approved_at": when - timedelta(minutes=rnd.randint(1, 90)),
            })
            # about n_pubs in all: whole channels per item, the remainder spread evenly
            count = int((i + 1) * per_item) - int(i * per_item)
            plans.append((opd_id, when, i, count))
        with rt.db.write_conn() as conn:
            ids = [r.id for r in conn.execute(insert(Item).returning(Item.id), rows)]
            pubs = []
            for item_id, (opd_id, when, i, count) in zip(ids, plans, strict=True):
                chans = seeded.channel_ids[opd_id]
                for k in range(min(count, len(chans))):
                    published = (i + k) % 29 != 0
                    at = when + timedelta(seconds=2 + 60 * k)
                    pubs.append({
                        "item_id": item_id, "channel_id": chans[k], "opd_id": opd_id,
                        "status": PublicationStatus.PUBLISHED if published
                        else PublicationStatus.FAILED,
                        "priority": 0, "due_at": when, "attempts": 1 if published else 5,
                        "needs_reconcile": False, "fingerprint": f"pub-{item_id}-{k}",
                        "sent_hash": "", "published_at": at if published else None,
                        "url": f"https://opd.example.go.id/o/{opd_id}/i/{item_id}"
                        if published else None,
                        "remote_id": f"r-{item_id}-{k}" if published else None,
                        "error_kind": None if published else "permanent",
                        "last_error": None if published else "HTTP 400 dari penerima",
                        "created_at": when, "updated_at": at,
                    })
            conn.execute(insert(Publication), pubs)
            made += len(pubs)
        print(f"\r  seeded {first + len(rows):,} items, {made:,} publications", end="",
              file=sys.stderr, flush=True)
    print(file=sys.stderr)


def seed_dik(rt: Runtime, seeded: Seeded, year: int, n_entries: int) -> None:
    with rt.db.read() as s:
        slugs: dict[int, str] = {oid: slug for oid, slug in s.execute(select(Opd.id, Opd.slug))}
    entries, versions = [], []
    for n in range(n_entries):
        opd_id = seeded.opd_ids[n % len(seeded.opd_ids)]
        approved = datetime(year, 1 + n % 12, 1 + n % 28, 3, tzinfo=UTC)
        entries.append({"opd_id": opd_id, "status": "berlaku", "approved_version": 1,
                        "latest_version": 1, "conclusion": "ditutup",
                        "created_at": approved - timedelta(days=3), "updated_at": approved})
        versions.append({
            "version": 1, "status": "approved", "title": f"Rekam medis pasien unit {n + 1}",
            "description": "Catatan pemeriksaan, diagnosis dan pengobatan pasien.",
            "documents": "Berkas rekam medis, hasil laboratorium", "article": "h",
            "legal_basis": "UU 14/2008 Pasal 17 huruf h; UU 17/2023 Pasal 177",
            "holder_unit": "Bidang Pelayanan", "period_start": date(year, 1, 1),
            "period_end": date(year + 5, 1, 1), "until_event": "",
            "review_date": date(year + 1, 1, 1),
            "harm": "Membuka rahasia pribadi pasien.", "public_interest": "Mutu layanan.",
            "weighing": "Kerugian bila dibuka lebih besar.", "conclusion": "ditutup",
            "members": ["dr. Sari, PPID Pelaksana", "Budi, Tim Pertimbangan"],
            "place": "Sei Rampah", "test_date": approved.date(),
            "submitted_at": approved - timedelta(days=1), "approved_at": approved,
            "submitter": {"name": "dr. Sari", "nip": "198502022010012002",
                          "jabatan": "PPID Pelaksana"},
            "approver": {"name": "dr. Ahmad", "nip": "197001011995031001",
                         "jabatan": "Kepala Dinas", "title": "Atasan PPID"},
            "return_comment": "",
            "number": f"BA-UK/{n + 1:03d}/{slugs[opd_id].upper()}/{year}",
            "content_hash": hashlib.sha256(f"dik-{n}".encode()).hexdigest(),
            "created_at": approved - timedelta(days=3), "updated_at": approved,
        })
    with rt.db.write_conn() as conn:
        ids = [r.id for r in conn.execute(insert(DikEntry).returning(DikEntry.id), entries)]
        conn.execute(insert(DikVersion), [{**v, "entry_id": entry_id}
                                          for entry_id, v in zip(ids, versions, strict=True)])


def run_monev(settings: Settings, year: int, out: Path) -> tuple[float, float, str]:
    env = {**os.environ, "PUBLISHER_DATABASE_URL": settings.database_url,
           "PUBLISHER_SECRET_KEY": SECRET,
           "PUBLISHER_INSTANCE_PATH": str(settings.instance_path)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _peak.CLI, "monev", "--year", str(year),
                           "-o", str(out)], env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"monev failed ({done.returncode}):\n{done.stdout[-2000:]}"
                         f"\n{done.stderr[-3000:]}")
    return seconds, _peak.peak_mb(done.stderr), done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--opds", type=int, default=40)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--pubs", type=int, default=30_000)
    parser.add_argument("--dik", type=int, default=400)
    parser.add_argument("--database-url", default=None,
                        help="An empty PostgreSQL database (default: a SQLite file).")
    args = parser.parse_args()
    year = datetime.now(UTC).year - 1
    with tempfile.TemporaryDirectory(prefix="publisher-monev-") as tmp:
        workdir = Path(tmp)
        url = args.database_url or f"sqlite:///{workdir / 'm.db'}"
        settings = Settings(instance_path=workdir, database_url=url, secret_key=SECRET,
                            allow_loopback=True)
        settings.finish()
        db = Database(settings.database_url)
        upgrade(db)
        rt = Runtime(settings, db)
        started = time.perf_counter()
        seeded = seed_people_and_channels(rt, args.opds)
        designate(rt, seeded)
        seed_items(rt, seeded, year, args.items, args.pubs)
        seed_dik(rt, seeded, year, args.dik)
        if db.engine.dialect.name == "postgresql":
            # what autovacuum does soon after a bulk load; without statistics the planner
            # nests loops over the register's grouped subquery (seconds per semester)
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        seeding = time.perf_counter() - started
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU, "
              f"Python {platform.python_version()}, {db.engine.dialect.name}")
        print(f"seeded {args.opds} OPDs, {args.items:,} items, ~{args.pubs:,} publications, "
              f"{args.dik} DIK entries for {year} in {seeding:.0f} s")
        out = workdir / "monev.zip"
        seconds, peak, last = run_monev(settings, year, out)
        with zipfile.ZipFile(out) as bundle:
            members = len(bundle.namelist())
        print(f"publisher monev --year {year}: {seconds:.1f} s, peak RSS {peak:.0f} MB, "
              f"ZIP {out.stat().st_size / 1e6:.1f} MB with {members} files — {last}")
        db.dispose()


if __name__ == "__main__":
    main()
