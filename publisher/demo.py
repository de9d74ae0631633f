"""Demo data for ``publisher run --demo``: a Pemda with two OPDs, their people, a site channel
each, and a few approved items due within the next minute, so a newcomer watches them appear
on the public site. Seeding is idempotent: what already exists is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import Principal
from .models import Channel, Item, Opd, Role, User
from .runtime import Runtime
from .security import new_password
from .services import admin, channels, items
from .timeutil import format_local, to_local, utcnow

SOURCE = "demo"


@dataclass(frozen=True)
class DemoOpd:
    """An OPD of the demo and the username prefix of its people."""

    slug: str
    name: str
    people: str = ""
    timezone: str = "Asia/Jakarta"


@dataclass(frozen=True)
class DemoItem:
    """One item of public information, due ``delay`` seconds after seeding."""

    opd: str
    delay: int
    category: str
    title: str
    summary: str
    body_html: str
    official_unit: str
    responsible: str
    made_place: str
    retention: str = "5 (lima) tahun"
    info_formats: tuple[str, ...] = ("cetak", "online")


PEMDA = DemoOpd("pemkab-serdang-bedagai", "Pemerintah Kabupaten Serdang Bedagai")
OPDS = (
    DemoOpd("diskominfo", "Dinas Komunikasi dan Informatika", people="kominfo"),
    DemoOpd("kecamatan-sei-rampah", "Kecamatan Sei Rampah", people="seirampah"),
)

ITEMS = (
    DemoItem(
        opd="diskominfo", delay=0, category="serta_merta",
        title="Peringatan Dini: Debit Sungai Ular Meningkat, Warga Bantaran Diminta Waspada",
        summary="Peringatan dini kenaikan muka air Sungai Ular dan langkah yang harus diambil "
                "warga bantaran sungai.",
        body_html=(
            "<p>Berdasarkan pemantauan BPBD Kabupaten Serdang Bedagai, muka air Sungai Ular "
            "terus naik sejak dini hari akibat hujan deras di hulu.</p>"
            "<ul><li>Warga bantaran sungai diminta menyiapkan dokumen penting dan tas siaga "
            "bencana.</li><li>Ikuti arahan petugas dan perangkat desa bila diminta mengungsi."
            "</li><li>Keadaan darurat: hubungi 112.</li></ul>"
        ),
        official_unit="Bidang Informasi dan Komunikasi Publik",
        responsible="Kepala Dinas Komunikasi dan Informatika",
        made_place="Sei Rampah", info_formats=("online",),
    ),
    DemoItem(
        opd="diskominfo", delay=15, category="berkala",
        title="Laporan Realisasi Anggaran Dinas Komunikasi dan Informatika Semester II 2026",
        summary="Ringkasan realisasi belanja pegawai, barang dan jasa, serta modal Dinas "
                "Komunikasi dan Informatika pada semester II tahun anggaran 2026.",
        body_html=(
            "<p>Dinas Komunikasi dan Informatika menyampaikan laporan realisasi anggaran "
            "semester II tahun anggaran 2026 sebagai informasi yang wajib diumumkan secara "
            "berkala.</p><p>Dokumen lengkap dapat diminta melalui PPID Pelaksana.</p>"
        ),
        official_unit="Sekretariat Dinas Komunikasi dan Informatika",
        responsible="Sekretaris Dinas Komunikasi dan Informatika",
        made_place="Sei Rampah",
    ),
    DemoItem(
        opd="kecamatan-sei-rampah", delay=30, category="setiap_saat",
        title="Persyaratan Pelayanan Surat Keterangan di Kantor Camat Sei Rampah",
        summary="Daftar persyaratan dan waktu layanan surat keterangan di Kantor Camat "
                "Sei Rampah.",
        body_html=(
            "<p>Persyaratan umum surat keterangan:</p><ul><li>Fotokopi KTP elektronik dan "
            "Kartu Keluarga.</li><li>Surat pengantar dari kepala desa.</li></ul>"
            "<p>Layanan dibuka Senin–Jumat pukul 08.00–15.00 WIB tanpa dipungut biaya.</p>"
        ),
        official_unit="Seksi Pelayanan Umum",
        responsible="Sekretaris Kecamatan Sei Rampah",
        made_place="Sei Rampah",
    ),
    DemoItem(
        opd="kecamatan-sei-rampah", delay=45, category="berkala",
        title="Jadwal Pelayanan Administrasi Kependudukan Keliling di Desa se-Kecamatan Sei Rampah",
        summary="Jadwal layanan perekaman KTP elektronik dan Kartu Identitas Anak keliling "
                "di desa-desa Kecamatan Sei Rampah.",
        body_html=(
            "<p>Kecamatan Sei Rampah bersama Dinas Kependudukan dan Pencatatan Sipil membuka "
            "layanan perekaman KTP elektronik dan Kartu Identitas Anak keliling.</p>"
            "<p>Warga cukup membawa Kartu Keluarga asli ke kantor desa sesuai jadwal.</p>"
        ),
        official_unit="Seksi Pemerintahan",
        responsible="Camat Sei Rampah",
        made_place="Sei Rampah", info_formats=("cetak", "online"),
    ),
)


@dataclass
class Seeded:
    """What :func:`seed` did, for the command line to print."""

    #: (username, role, OPD name, one-time password) of accounts created now.
    accounts: list[tuple[str, str, str, str]] = field(default_factory=list)
    #: (OPD name, public page path) of every demo OPD.
    sites: list[tuple[str, str]] = field(default_factory=list)
    #: (title, local due time) of items scheduled now.
    items: list[tuple[str, str]] = field(default_factory=list)


def seed(runtime: Runtime) -> Seeded:
    """Create whatever part of the demo is missing; never duplicates anything."""
    out = Seeded()
    with runtime.db.write() as session:
        pemda = _opd(session, PEMDA, None)
        for spec in OPDS:
            opd = _opd(session, spec, pemda.slug)
            out.sites.append((opd.name, f"/o/{opd.slug}/"))
            for role in (Role.EDITOR, Role.APPROVER):
                _person(session, out, f"{spec.people}.{role.value}", role, opd)
    for spec in OPDS:
        _seed_items(runtime, spec, out)
    return out


def _opd(session: Session, spec: DemoOpd, parent: str | None) -> Opd:
    opd = session.scalars(select(Opd).where(Opd.slug == spec.slug)).first()
    if opd is None:
        opd = admin.create_opd(session, None, spec.name, slug=spec.slug,
                               timezone=spec.timezone, parent=parent)
    return opd


def _person(session: Session, out: Seeded, username: str, role: Role, opd: Opd) -> None:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        return
    password = new_password()
    label = "Operator" if role == Role.EDITOR else "PPID Pelaksana"
    admin.create_user(session, None, username, password, full_name=f"{label} {opd.name}",
                      jabatan=label, roles=[(role.value, opd.id)])
    out.accounts.append((username, role.value, opd.name, password))


def _principal(session: Session, username: str) -> Principal:
    return Principal.of(session.scalars(select(User).where(User.username == username)).one())


def _seed_items(runtime: Runtime, spec: DemoOpd, out: Seeded) -> None:
    with runtime.db.write() as session:
        opd = session.scalars(select(Opd).where(Opd.slug == spec.slug)).one()
        if session.scalar(select(Item.id).where(Item.opd_id == opd.id, Item.source == SOURCE)):
            return  # seeded by an earlier run
        editor = _principal(session, f"{spec.people}.editor")
        approver = _principal(session, f"{spec.people}.approver")
        site = session.scalars(
            select(Channel).where(Channel.opd_id == opd.id, Channel.kind == "site")
        ).first()
        if site is None:
            site = channels.create_channel(session, approver, runtime, opd.id, "site",
                                           f"Situs publik {opd.name}")
            session.flush()
        today = to_local(utcnow(), opd.timezone).date()
        for demo in (d for d in ITEMS if d.opd == spec.slug):
            due = utcnow() + timedelta(seconds=demo.delay)
            schedule = ({"mode": "now"} if demo.delay == 0
                        else {"mode": "at", "at": due.isoformat()})
            data = {
                "title": demo.title, "summary": demo.summary, "body_html": demo.body_html,
                "category": demo.category, "official_unit": demo.official_unit,
                "responsible": demo.responsible, "made_at": today,
                "made_place": demo.made_place, "info_formats": list(demo.info_formats),
                "retention": demo.retention,
            }
            item = items.create_item(session, editor, runtime.settings, opd.id, data,
                                     channel_ids=[site.id], schedule=schedule, source=SOURCE)
            items.submit_item(session, editor, runtime.settings, item.id)
            items.approve_item(session, approver, runtime.settings, item.id,
                               "Disetujui untuk dipublikasikan (data demo).")
            out.items.append((demo.title, format_local(due, opd.timezone, "%H:%M:%S")))
