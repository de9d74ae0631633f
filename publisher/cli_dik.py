"""``publisher dik …`` and ``publisher days-off …``: the Daftar Informasi yang Dikecualikan
chain (draft, submit, approve, return, re-test, designate, documents, expiry, reviews) and the
Pemda's days off, from a shell.

Every chain step acts for a named person (``--as USERNAME``): the services apply the same
roles and separation of duties as on the web, and their refusals end with a message naming
the field and exit code 2.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .access import Principal
from .cli import UserError, _Group, _opened, cli
from .models import DikEntry, DikStatus, DikVersion, Opd, Role, User
from .runtime import Runtime
from .services import dik
from .services.items import get_opd
from .timeutil import utcnow

#: Who reads when no ``--as`` is given (list, show, reviews): everything, read-only.
SYSTEM_READER = Principal(0, "system", "Sistem (baris perintah)", "", "",
                          {Role.AUDITOR.value: frozenset({None})})


# --- helpers ---------------------------------------------------------------------------------


class _Date(click.ParamType):
    """An ISO date ``YYYY-MM-DD``; anything else is a usage error naming the argument."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(f"{value!r} bukan tanggal (YYYY-MM-DD) / not a date", param, ctx)


DATE = _Date()


def _as_option(required: bool = True) -> Any:
    return click.option(
        "--as", "as_user", metavar="USERNAME", required=required,
        help="Pengguna yang bertindak (peran dan pemisahan tugasnya berlaku)."
        + ("" if required else " Tanpa ini: baca saja, semua OPD."))


def _user(session: Session, username: str, option: str) -> User:
    row = session.scalars(
        select(User).where(func.lower(User.username) == username.strip().lower())).first()
    if row is None or not row.is_active:
        raise UserError(f"{option}: pengguna {username!r} tidak ditemukan atau tidak aktif")
    return row


def _principal(runtime: Runtime, username: str | None) -> Principal:
    if username is None:
        return SYSTEM_READER
    with runtime.db.read() as session:
        return Principal.of(_user(session, username, "--as"))


def _read_json(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"--file: {path} bukan JSON yang valid (baris {exc.lineno}, kolom "
                        f"{exc.colno}): {exc.msg}") from None
    except UnicodeDecodeError:
        raise UserError(f"--file: {path} bukan teks UTF-8") from None
    except OSError as exc:
        raise UserError(f"--file: tidak dapat membaca {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"--file: {path} harus berisi objek JSON {{\"kolom\": nilai}}, bukan "
                        f"{type(data).__name__}; kolom: {', '.join(dik.VERSION_FIELDS)}")
    return data


def _write(path: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UserError(f"--output: tidak dapat menulis {path}: {exc.strerror or exc}") from None


def _summary(entry: DikEntry) -> str:
    version = dik.version_of(entry)
    text = (f"Entri DIK #{entry.id} ({entry.opd.slug}) versi {version.version} "
            f"[{version.status}]: status entri {entry.status}")
    if version.number:
        text += f", nomor berita acara {version.number}"
    return text


def _period(version: DikVersion) -> str:
    end = version.period_end.isoformat() if version.period_end else (
        version.until_event or "-")
    review = version.review_date.isoformat() if version.review_date else "-"
    return f"{end} / {review}"


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _signature(label: str, signer: dict[str, Any] | None, at: Any) -> str:
    if not signer:
        return f"    {label}: -"
    moment = f" pada {at:%Y-%m-%d %H:%M} UTC" if at else ""
    return (f"    {label}: {signer.get('name', '')} (NIP {signer.get('nip', '') or '-'}, "
            f"{signer.get('jabatan', '') or '-'}){moment}")


_entry_id = click.argument("entry_id", metavar="ID", type=int)
_file = click.option("--file", "file", required=True, metavar="ENTRY.json",
                     type=click.Path(exists=True, dir_okay=False),
                     help="Berkas JSON berisi kolom versi: " + ", ".join(dik.VERSION_FIELDS))
_output = click.option("--output", "-o", type=click.Path(dir_okay=False),
                       help="Berkas tujuan (default: nama dokumen di direktori ini).")


# --- dik -------------------------------------------------------------------------------------


@click.group(name="dik", cls=_Group)
def dik_group() -> None:
    """Daftar Informasi yang Dikecualikan: uji konsekuensi, pengesahan, dokumen."""


@dik_group.command("list")
@click.option("--opd", help="Slug OPD.")
@click.option("--status", type=click.Choice([s.value for s in DikStatus]))
@_as_option(required=False)
def dik_list(opd: str | None, status: str | None, as_user: str | None) -> None:
    """Tabel entri DIK: id, OPD, status, versi, judul, berakhir / tanggal tinjau."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.read() as session:
            opd_id = get_opd(session, principal, opd).id if opd else None
            rows = dik.list_entries(session, principal, opd_id, status)
            lines = []
            for entry in rows:
                version = dik.version_of(entry)
                versions = str(entry.latest_version) + (
                    f" (sah {entry.approved_version})" if entry.approved_version else "")
                lines.append(f"{entry.id:>5}  {_cut(entry.opd.slug, 16):<16}  "
                             f"{entry.status:<10}  {versions:<10}  "
                             f"{_cut(version.title, 40):<40}  {_period(version)}")
    if not lines:
        click.echo("Tidak ada entri DIK.")
        return
    click.echo(f"{'ID':>5}  {'OPD':<16}  {'STATUS':<10}  {'VERSI':<10}  {'JUDUL':<40}  "
               "BERAKHIR / TINJAU")
    for line in lines:
        click.echo(line)


@dik_group.command("show")
@_entry_id
@_as_option(required=False)
def dik_show(entry_id: int, as_user: str | None) -> None:
    """Satu entri DIK dengan semua versi dan tanda tangannya."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.read() as session:
            entry = dik.get_entry(session, principal, entry_id)
            out = [f"Entri DIK #{entry.id} — {entry.opd.name} ({entry.opd.slug})",
                   f"  status: {entry.status}; versi terbaru {entry.latest_version}; versi "
                   f"berlaku {entry.approved_version or '-'}; kesimpulan "
                   f"{entry.conclusion or '-'}"]
            office = dik.designation(session, entry.opd_id)
            out.append("  atasan PPID: " + (f"{office.name} ({office.jabatan})" if office
                                             else "belum ditetapkan"))
            for version in entry.versions:
                out.append(f"  Versi {version.version} [{version.status}]"
                           + (f" nomor {version.number}" if version.number else ""))
                for name in dik.VERSION_FIELDS:
                    value = getattr(version, name)
                    if isinstance(value, list):
                        value = "; ".join(value)
                    if value not in (None, "", []):
                        out.append(f"    {name}: {_cut(str(value), 200)}")
                out.append(_signature("diajukan (PPID Pelaksana)", version.submitter,
                                      version.submitted_at))
                out.append(_signature("disahkan (atasan PPID)", version.approver,
                                      version.approved_at))
                if version.return_comment:
                    out.append(f"    dikembalikan: {version.return_comment}")
                if version.content_hash:
                    out.append(f"    hash: {version.content_hash}")
    click.echo("\n".join(out))


@dik_group.command("create")
@_as_option()
@click.option("--opd", required=True, help="Slug OPD.")
@_file
def dik_create(as_user: str, opd: str, file: str) -> None:
    """Susun entri DIK baru (versi 1) dari berkas JSON."""
    data = _read_json(file)
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.create_entry, opd, data,
                               present=_summary)
    click.echo(f"Dibuat: {text}")


@dik_group.command("edit")
@_entry_id
@_as_option()
@_file
def dik_edit(entry_id: int, as_user: str, file: str) -> None:
    """Ubah draf (atau versi yang dikembalikan) dari berkas JSON: hanya kolom yang ada."""
    data = _read_json(file)
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.update_draft, entry_id, data,
                               present=_summary)
    click.echo(f"Diubah: {text}")


@dik_group.command("submit")
@_entry_id
@_as_option()
def dik_submit(entry_id: int, as_user: str) -> None:
    """PPID Pelaksana menandatangani versi terbaru dan mengajukannya untuk pengesahan."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.submit, entry_id, present=_summary)
    click.echo(f"Diajukan: {text}")


@dik_group.command("approve")
@_entry_id
@_as_option()
def dik_approve(entry_id: int, as_user: str) -> None:
    """Pengesahan oleh atasan PPID yang ditetapkan (penolakan dicatat di log audit)."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.approve, entry_id, present=_summary)
    click.echo(f"Disahkan: {text}")


@dik_group.command("return")
@_entry_id
@_as_option()
@click.option("--comment", required=True, help="Alasan pengembalian.")
def dik_return(entry_id: int, as_user: str, comment: str) -> None:
    """Atasan PPID mengembalikan versi yang diajukan dengan catatan."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.return_version, entry_id, comment,
                               present=_summary)
    click.echo(f"Dikembalikan: {text}")


@dik_group.command("retest")
@_entry_id
@_as_option()
@click.option("--file", "file", metavar="ENTRY.json", type=click.Path(exists=True,
                                                                    dir_okay=False),
              help="Kolom yang berubah (JSON); default: salinan versi yang berlaku.")
def dik_retest(entry_id: int, as_user: str, file: str | None) -> None:
    """Uji ulang entri yang disahkan: versi draf baru (versi berlaku tetap berlaku)."""
    data = _read_json(file) if file else {}
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        text = dik.run_guarded(runtime.db, principal, dik.retest, entry_id, data,
                               present=_summary)
    click.echo(f"Uji ulang: {text}")


@dik_group.command("designate")
@_as_option()
@click.option("--opd", required=True, help="Slug OPD.")
@click.option("--user", "user_name", required=True, metavar="USERNAME",
              help="Pengguna yang menjadi atasan PPID (mengesahkan DIK OPD ini).")
@click.option("--jabatan", required=True, help="Mis. Kepala Dinas Kesehatan.")
@click.option("--nip", help="NIP (default: dari akun).")
@click.option("--name", help="Nama (default: dari akun).")
def dik_designate(as_user: str, opd: str, user_name: str, jabatan: str, nip: str | None,
                  name: str | None) -> None:
    """Tetapkan atasan PPID suatu OPD (hanya PPID Utama / admin, lewat --as)."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.write() as session:
            target = _user(session, user_name, "--user")
            row = dik.designate(session, principal, opd, target.id, jabatan, name=name,
                                nip=nip)
            text = (f"Atasan PPID {opd} ditetapkan: {row.name} (NIP {row.nip}, "
                    f"{row.jabatan}, pengguna {target.username})")
    click.echo(text)


@dik_group.command("pdf")
@_entry_id
@_as_option()
@click.option("--version", type=click.IntRange(1), help="Nomor versi (default: yang berlaku).")
@_output
def dik_pdf(entry_id: int, as_user: str, version: int | None, output: str | None) -> None:
    """Berita acara uji konsekuensi (PDF) suatu versi yang disahkan."""
    from .services import dik_docs  # the PDF stack: imported by the commands that use it

    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.write() as session:
            doc = dik_docs.berita_acara(session, principal, runtime.settings.public_base_url,
                                        entry_id, version)
        path = output or doc.filename
        _write(path, doc.data)
    click.echo(f"Berita acara ditulis ke {path} ({len(doc.data)} bita)")


@dik_group.command("penetapan")
@_as_option()
@click.option("--opd", required=True, help="Slug OPD.")
@_output
def dik_penetapan(as_user: str, opd: str, output: str | None) -> None:
    """Penetapan DIK suatu OPD (PDF): semua entri yang berlaku."""
    from .services import dik_docs

    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.write() as session:
            doc = dik_docs.penetapan(session, principal, runtime.settings.public_base_url, opd)
        path = output or doc.filename
        _write(path, doc.data)
    click.echo(f"Penetapan DIK ditulis ke {path} ({len(doc.data)} bita)")


@dik_group.command("expire")
def dik_expire() -> None:
    """Akhiri entri yang jangka waktunya lewat (sekali); sebutkan informasi yang harus
    direklasifikasi. Tidak ada yang dipublikasikan otomatis."""
    with _opened() as runtime, runtime.db.write() as session:
        ended = dik.expire_due(session)
        slugs = {o.id: o.slug for o in session.scalars(select(Opd))} if ended else {}
    if not ended:
        click.echo("Tidak ada entri DIK yang berakhir.")
        return
    for row in ended:
        items = ", ".join(f"#{i}" for i in row.items) or "tidak ada"
        click.echo(f"Berakhir: entri DIK #{row.entry_id} ({slugs.get(row.opd_id, row.opd_id)}) "
                   f"{row.title}; informasi yang perlu direklasifikasi: {items}")
    click.echo(f"{len(ended)} entri DIK berakhir.")


@dik_group.command("reviews")
@click.option("--days", type=click.IntRange(0, 3660), default=30, show_default=True,
              help="Tinjauan yang jatuh dalam sekian hari (atau sudah lewat).")
@_as_option(required=False)
def dik_reviews(days: int, as_user: str | None) -> None:
    """Entri berlaku yang peninjauannya dekat atau sudah lewat."""
    with _opened() as runtime:
        principal = _principal(runtime, as_user)
        with runtime.db.read() as session:
            due = dik.reviews_due(session, principal, days, today=utcnow().date())
            lines = [
                f"#{r.entry.id} ({r.entry.opd.slug}) {_cut(r.version.title, 50)}: tinjau "
                f"{r.version.review_date} "
                + (f"(lewat {-r.days_left} hari)" if r.days_left < 0 else
                   f"({r.days_left} hari lagi)")
                for r in due]
    if not lines:
        click.echo(f"Tidak ada peninjauan DIK dalam {days} hari.")
        return
    for line in lines:
        click.echo(line)


# --- days-off --------------------------------------------------------------------------------


@click.group(name="days-off", cls=_Group)
def days_off_group() -> None:
    """Hari libur Pemda, libur nasional, cuti bersama, dan tenggat hari kerja."""


@days_off_group.command("list")
@click.option("--year", type=click.IntRange(1900, 2100), help="Tahun (default: tahun ini).")
def days_off_list(year: int | None) -> None:
    """Hari libur Pemda, libur nasional dan cuti bersama setahun (akhir pekan tidak)."""
    from .services import days_off  # holidays: only for these commands

    wanted = year or utcnow().date().year
    with _opened() as runtime, runtime.db.read() as session:
        rows = days_off.list_days(session, wanted)
    click.echo(f"Hari libur {wanted} (hari kerja: Senin–Jumat di luar daftar ini):")
    for row in rows:
        click.echo(f"  {row.day.isoformat()}  {days_off.day_name(row.day):<6}  "
                   f"{days_off.KIND_LABELS[row.kind]:<16}  {row.name}")


@days_off_group.command("add")
@click.argument("day", metavar="DATE", type=DATE)
@click.argument("name", metavar="NAME")
@click.option("--working", is_flag=True,
              help="Hari kerja pengganti: hari yang seharusnya libur menjadi hari kerja.")
@_as_option(required=False)
def days_off_add(day: date, name: str, working: bool, as_user: str | None) -> None:
    """Tambah hari libur Pemda DATE bernama NAME (atau hari kerja dengan --working)."""
    from .services import days_off  # holidays: only for these commands

    with _opened() as runtime:
        principal = _principal(runtime, as_user) if as_user else None
        with runtime.db.write() as session:
            days_off.add_day_off(session, principal, day, name, working)
    what = "Hari kerja Pemda" if working else "Hari libur Pemda"
    click.echo(f"{what} ditambahkan: {day.isoformat()} ({days_off.day_name(day)}) {name.strip()}")


@days_off_group.command("remove")
@click.argument("day", metavar="DATE", type=DATE)
@_as_option(required=False)
def days_off_remove(day: date, as_user: str | None) -> None:
    """Hapus hari libur (atau hari kerja) Pemda DATE."""
    from .services import days_off  # holidays: only for these commands

    with _opened() as runtime:
        principal = _principal(runtime, as_user) if as_user else None
        with runtime.db.write() as session:
            row = days_off.remove_day_off(session, principal, day)
            name = row.name
    click.echo(f"Dihapus: {day.isoformat()} {name}")


@days_off_group.command("deadline")
@click.argument("day", metavar="DATE", type=DATE)
@click.argument("count", metavar="N", type=click.IntRange(0, 3650))
def days_off_deadline(day: date, count: int) -> None:
    """Tanggal N hari kerja setelah DATE (DATE sendiri tidak dihitung)."""
    from .services import days_off  # holidays: only for these commands

    with _opened() as runtime, runtime.db.read() as session:
        due = days_off.calendar(session).deadline(day, count)
    click.echo(f"{due.isoformat()} ({days_off.day_name(due)}): {count} hari kerja setelah "
               f"{day.isoformat()} ({days_off.day_name(day)})")


cli.add_command(dik_group)
cli.add_command(days_off_group)
