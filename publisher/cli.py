"""The ``publisher`` command line: serve, dispatch, migrate and administer from a shell.

User mistakes (bad options, unknown OPDs, bad configuration) end with a message naming the
problem and exit code 2, never a traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
import requests
from sqlalchemy import func, select, text
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, ProgrammingError

from . import __version__, audit, checkpoints, migrate
from .access import Principal
from .config import ConfigError, Settings, validate_host
from .models import GLOBAL_ROLES, Opd, Role, User
from .runtime import Runtime
from .security import MIN_PASSWORD_LENGTH, hash_password, new_password
from .services import admin
from .services.auditing import record
from .services.errors import Invalid, NotFound, ServiceError

if TYPE_CHECKING:
    from .scheduler import Worker

log = logging.getLogger("publisher.cli")

ADMIN_USERNAME = "admin"
STOP_GRACE_SECONDS = 30.0
#: PostgreSQL advisory lock held while migrating, so workers starting together migrate once.
_MIGRATION_LOCK = 0x4F504450


class UserError(click.ClickException):
    """A mistake in input or configuration: the message, exit code 2, no traceback."""

    exit_code = 2


class _Command(click.Command):
    """Turns service and configuration errors into :class:`UserError` naming the option."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ServiceError as exc:
            raise UserError(_describe(ctx, exc)) from None
        except ConfigError as exc:
            raise UserError(f"konfigurasi tidak valid (invalid configuration): {exc}") from None


class _Group(click.Group):
    command_class = _Command
    group_class = type  # subgroups are _Group too


def _describe(ctx: click.Context, exc: ServiceError) -> str:
    if not exc.field:
        return exc.message
    for param in ctx.command.params:
        if exc.field in (param.name, param.human_readable_name.lower()):
            return f"{param.get_error_hint(ctx)}: {exc.message}"
    return f"{exc.field}: {exc.message}"


# --- opening the service ---------------------------------------------------------------------


def _configure_logging(level: str) -> None:
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(
            f"PUBLISHER_LOG_LEVEL: unknown level {level!r}: use DEBUG, INFO, WARNING or ERROR"
        )
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # A line per migration step and per scheduler tick drowns what matters.
        for noisy in ("alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def _opened(migrate_schema: bool = True, **overrides: Any) -> Iterator[Runtime]:
    """Settings from the environment, a Runtime, and (by default) an up-to-date schema."""
    try:
        settings = Settings.from_env(**overrides)
        _configure_logging(settings.log_level)
        runtime = Runtime(settings)
    except ArgumentError as exc:
        raise UserError(f"PUBLISHER_DATABASE_URL tidak valid: {exc}") from None
    except ImportError as exc:
        raise UserError(
            f"driver basis data tidak terpasang ({exc.name}): untuk PostgreSQL pasang "
            "pip install 'opd-publisher[postgres]'"
        ) from None
    try:
        if migrate_schema:
            upgrade_schema(runtime)
        yield runtime
    except (OperationalError, ProgrammingError) as exc:
        detail = str(exc.orig or exc).strip().splitlines()[0]
        raise UserError(f"basis data tidak dapat dipakai (database unusable): {detail}") from None
    finally:
        runtime.db.dispose()


def upgrade_schema(runtime: Runtime) -> None:
    """Create or migrate the schema; on PostgreSQL one process at a time."""
    db = runtime.db
    if db.dialect != "postgresql":
        migrate.upgrade(db)
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        try:
            migrate.upgrade(db)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()


def ensure_admin(runtime: Runtime) -> tuple[str, str | None] | None:
    """On first run (no users at all) create the admin account.

    Returns (username, one-time password, or None when it came from PUBLISHER_ADMIN_PASSWORD),
    or None when users exist already.
    """
    given = runtime.settings.admin_password
    password = given or new_password()
    try:
        with runtime.db.write() as session:
            if session.scalar(select(func.count()).select_from(User)):
                return None
            admin.create_user(session, None, ADMIN_USERNAME, password,
                              full_name="Administrator (PPID Utama)", jabatan="PPID Utama",
                              roles=[(Role.ADMIN.value, None)])
    except Invalid as exc:
        if exc.field == "password":
            raise UserError(f"PUBLISHER_ADMIN_PASSWORD: {exc.message}") from None
        raise
    except IntegrityError:  # another process created it at the same moment
        return None
    return ADMIN_USERNAME, None if given else password


def _announce_admin(created: tuple[str, str | None] | None, base: str) -> None:
    if created is None:
        return
    username, password = created
    click.echo("Akun admin pertama dibuat (first run: admin account created)")
    click.echo(f"  nama pengguna : {username}")
    if password is None:
        click.echo("  kata sandi    : dari PUBLISHER_ADMIN_PASSWORD")
    else:
        click.echo(f"  kata sandi    : {password}   (ditampilkan sekali ini saja / shown once)")
    click.echo(f"  Ganti kata sandi (change it): {base}/admin/akun atau "
               f"`publisher user password {username}`")


# --- serving ---------------------------------------------------------------------------------


class _Stop(SystemExit):
    """Raised by the SIGTERM/SIGINT handler; waitress's loop returns on SystemExit."""


def _raise_stop(signum: int, _frame: FrameType | None) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)  # we are stopping already: ignore repeats
    log.info("sinyal %s diterima: berhenti", signal.Signals(signum).name)
    raise _Stop(0)


def _serve(runtime: Runtime, host: str, port: int, threads: int, worker: Worker | None,
           grace: float) -> None:
    """Serve the app with waitress (and run ``worker``) until SIGTERM or SIGINT."""
    from waitress import create_server

    from .app import create_app

    app = create_app(runtime=runtime)
    try:
        server = create_server(app, host=host, port=port, threads=threads,
                               ident="opd-publisher")
    except OSError as exc:
        raise UserError(
            f"--host/--port: tidak dapat melayani di {host}:{port}: {exc.strerror or exc}"
        ) from None
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.getsignal(sig) for sig in signals}
    started = False
    try:
        if worker is not None:
            worker.start()
            started = True
        for sig in signals:
            signal.signal(sig, _raise_stop)
        log.info("melayani di http://%s:%s (%d thread)%s", host, port, threads,
                 " dengan penjadwal" if worker is not None else "")
        base = runtime.settings.public_base_url
        click.echo(f"Siap: {base}/  admin: {base}/admin/  API: {base}/api/v1/openapi.json  "
                   "(berhenti: Ctrl+C)")
        server.run()
    except _Stop:  # the signal came just outside waitress's loop
        pass
    finally:
        for sig in signals:
            signal.signal(sig, signal.SIG_IGN)
        if worker is not None and started:
            worker.stop(grace)
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("berhenti dengan bersih (stopped cleanly)")


def _work_until_signal(worker: Worker, grace: float) -> None:
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("sinyal %s diterima: berhenti", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    worker.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        worker.stop(grace)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("berhenti dengan bersih (stopped cleanly)")


def _listen_overrides(host: str | None, port: int | None) -> dict[str, Any]:
    if host is not None:
        try:
            validate_host(host, "--host")
        except ConfigError as exc:
            raise UserError(str(exc)) from None
    return {k: v for k, v in (("host", host), ("port", port)) if v is not None}


_host = click.option("--host", help="Alamat yang didengar (default PUBLISHER_HOST, 127.0.0.1).")
_port = click.option("--port", type=click.IntRange(1, 65535),
                     help="Port (default PUBLISHER_PORT, 5000).")
_threads = click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True,
                        help="Thread waitress untuk permintaan web.")
_grace = click.option("--grace", type=click.FloatRange(0, 3600), default=STOP_GRACE_SECONDS,
                      show_default=True,
                      help="Detik menunggu pengiriman yang sedang berjalan saat berhenti.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="publisher")
def cli() -> None:
    """OPD Publisher: publikasi informasi publik (UU 14/2008 KIP) tepat waktu."""


@cli.command()
@_host
@_port
@_threads
@_grace
@click.option("--demo", is_flag=True,
              help="Isi data contoh: dua OPD, pengguna, saluran situs dan informasi yang terbit "
                   "dalam satu menit.")
def run(host: str | None, port: int | None, threads: int, grace: float, demo: bool) -> None:
    """Web dan penjadwal dalam satu proses (production server: waitress)."""
    with _opened(**_listen_overrides(host, port)) as runtime:
        _announce_admin(ensure_admin(runtime), runtime.settings.public_base_url)
        if demo:
            _seed_demo(runtime)
        settings = runtime.settings
        _serve(runtime, settings.host, settings.port, threads, _make_worker(runtime), grace)


@cli.command()
@_host
@_port
@_threads
def web(host: str | None, port: int | None, threads: int) -> None:
    """Hanya web (waitress), tanpa penjadwal; jalankan `publisher worker` terpisah."""
    with _opened(**_listen_overrides(host, port)) as runtime:
        _announce_admin(ensure_admin(runtime), runtime.settings.public_base_url)
        settings = runtime.settings
        _serve(runtime, settings.host, settings.port, threads, None, 0)


@cli.command()
@_grace
def worker(grace: float) -> None:
    """Hanya penjadwal; sebanyak apa pun dapat berjalan pada satu PostgreSQL."""
    with _opened() as runtime:
        _work_until_signal(_make_worker(runtime), grace)


def _make_worker(runtime: Runtime) -> Worker:
    # Imported here: the jobs pull in the API and image stack, which commands such as
    # ``audit verify`` do not need (about 30 MB of a short-lived process).
    from .jobs import make_worker

    return make_worker(runtime)


def _seed_demo(runtime: Runtime) -> None:
    from .demo import seed

    seeded = seed(runtime)
    base = runtime.settings.public_base_url
    click.echo("Data demo (demo data):")
    for name, path in seeded.sites:
        click.echo(f"  {name}: {base}{path}")
    if seeded.accounts:
        click.echo("  Akun demo (kata sandi ditampilkan sekali / passwords shown once):")
        for username, role, opd_name, password in seeded.accounts:
            click.echo(f"    {username:<20} {role:<9} {password}   {opd_name}")
    for title, due in seeded.items:
        click.echo(f"  terbit {due}: {title}")


# --- db --------------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """Skema basis data."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Buat atau migrasikan skema ke versi terbaru (aman diulang)."""
    with _opened(migrate_schema=False) as runtime:
        before = migrate.current_revision(runtime.db)
        upgrade_schema(runtime)
        after = migrate.current_revision(runtime.db)
    if before == after:
        click.echo(f"Skema sudah mutakhir (revisi {after}).")
    else:
        click.echo(f"Skema dimigrasikan: {before or 'kosong'} → {after}.")


# --- opd, user, token ------------------------------------------------------------------------


@cli.group()
def opd() -> None:
    """OPD (dinas, badan, kecamatan, desa, Pemda)."""


@opd.command("create")
@click.argument("name")
@click.option("--slug", help="Bagian URL (/o/<slug>/); default dari nama.")
@click.option("--timezone", help="Asia/Jakarta, Asia/Pontianak, Asia/Makassar atau "
                                 "Asia/Jayapura (default PUBLISHER_TIMEZONE).")
@click.option("--parent", help="Slug OPD induk (mis. Pemda untuk kecamatan dan desa).")
@click.option("--no-approval", is_flag=True,
              help="Informasi terbit tanpa persetujuan PPID Pelaksana.")
def opd_create(name: str, slug: str | None, timezone: str | None, parent: str | None,
               no_approval: bool) -> None:
    """Tambah OPD bernama NAME."""
    with _opened() as runtime, runtime.db.write() as session:
        row = admin.create_opd(session, None, name, slug=slug,
                               timezone=timezone or runtime.settings.timezone, parent=parent,
                               approval_required=not no_approval)
        summary = f"OPD dibuat: {row.name} (slug {row.slug}, id {row.id}, {row.timezone})"
    click.echo(summary)


@cli.group()
def user() -> None:
    """Pengguna dan peran."""


def _read_password(password_stdin: bool, generate: bool) -> tuple[str, bool]:
    """(password, whether it was generated)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError("--password-stdin: stdin tidak berisi kata sandi")
    elif not generate and sys.stdin.isatty():
        password = click.prompt("Kata sandi", hide_input=True, confirmation_prompt=True)
    else:
        return new_password(), True
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter")
    return password, False


_password_stdin = click.option("--password-stdin", is_flag=True,
                               help="Baca kata sandi dari baris pertama stdin.")
_generate = click.option("--generate-password", is_flag=True,
                         help="Buat kata sandi acak dan tampilkan sekali (default bila stdin "
                              "bukan terminal).")


def _find_user(session: Any, username: str) -> User:
    row = session.scalars(
        select(User).where(func.lower(User.username) == username.strip().lower())
    ).first()
    if row is None:
        raise NotFound(f"pengguna {username!r} tidak ditemukan", field="username")
    return row


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]),
              help="admin dan auditor: semua OPD; editor dan approver: satu OPD (--opd).")
@click.option("--opd", "opd_slug", help="Slug OPD untuk peran editor atau approver.")
@click.option("--full-name", default="", help="Nama lengkap.")
@click.option("--nip", default="", help="NIP.")
@click.option("--jabatan", default="", help="Jabatan.")
@_password_stdin
@_generate
def user_create(username: str, role: str, opd_slug: str | None, full_name: str, nip: str,
                jabatan: str, password_stdin: bool, generate_password: bool) -> None:
    """Tambah pengguna USERNAME dengan satu peran."""
    if role in GLOBAL_ROLES and opd_slug:
        raise click.BadParameter(f"peran {role} berlaku di semua OPD: jangan isi --opd",
                                 param_hint="'--opd'")
    if role not in GLOBAL_ROLES and not opd_slug:
        raise click.BadParameter(f"peran {role} memerlukan --opd <slug>", param_hint="'--opd'")
    password, generated = _read_password(password_stdin, generate_password)
    with _opened() as runtime, runtime.db.write() as session:
        opd_id = None
        if opd_slug:
            opd_id = session.scalar(select(Opd.id).where(Opd.slug == opd_slug))
            if opd_id is None:
                raise click.BadParameter(f"OPD {opd_slug!r} tidak ditemukan",
                                         param_hint="'--opd'")
        row = admin.create_user(session, None, username, password, full_name=full_name,
                                nip=nip, jabatan=jabatan, roles=[(role, opd_id)])
        summary = f"Pengguna dibuat: {row.username} (id {row.id}, peran {role})"
    click.echo(summary)
    if generated:
        click.echo(f"Kata sandi (ditampilkan sekali / shown once): {password}")


@user.command("password")
@click.argument("username")
@_password_stdin
@_generate
def user_password(username: str, password_stdin: bool, generate_password: bool) -> None:
    """Ganti kata sandi USERNAME."""
    password, generated = _read_password(password_stdin, generate_password)
    with _opened() as runtime, runtime.db.write() as session:
        row = _find_user(session, username)
        row.password_hash = hash_password(password)
        record(session, None, "user.password_changed",
               detail={"user_id": row.id, "username": row.username})
    click.echo(f"Kata sandi {username} diganti.")
    if generated:
        click.echo(f"Kata sandi baru (ditampilkan sekali / shown once): {password}")


@cli.group()
def token() -> None:
    """Token API (Bearer)."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="Keterangan token.")
def token_create(username: str, name: str) -> None:
    """Buat token API untuk USERNAME; token dicetak sekali ke stdout."""
    with _opened() as runtime, runtime.db.write() as session:
        row = _find_user(session, username)
        _token_row, plain = admin.create_token(session, Principal.of(row), row.id, name)
    click.echo(f"Token API untuk {username} (ditampilkan sekali / shown once):", err=True)
    click.echo(plain)


# --- audit -----------------------------------------------------------------------------------


@cli.group(name="audit")
def audit_group() -> None:
    """Log audit berantai hash."""


@audit_group.command("verify")
@click.option("--checkpoints", "sources", multiple=True, metavar="FILE|URL",
              help="Checkpoint bertanda tangan untuk dicocokkan (bawaan: berkas instance).")
@click.option("--public-key", "public_key", default=None, metavar="FILE|BASE64",
              help="Kunci publik Ed25519 (bawaan: dari kunci penandatangan yang dikonfigurasi).")
def audit_verify(sources: tuple[str, ...], public_key: str | None) -> None:
    """Periksa rantai audit dan checkpoint bertanda tangan; keluar 1 dan sebutkan setiap
    peristiwa yang diubah, dihapus atau dipindah."""
    with _opened(migrate_schema=False) as runtime, runtime.db.read() as session:
        try:
            public = (checkpoints.load_public(_read_key(public_key)) if public_key else
                      checkpoints.signing_key(runtime.settings).public_key())
            named = list(sources) or [str(checkpoints.checkpoint_path(runtime.settings))]
            witness = runtime.settings.audit_witness_url
            if witness and not sources:  # the instance's own copy, and the witness's
                named.append(witness)
            loaded = [(src, checkpoints.verified(public, _load_checkpoints(src, src in sources
                                                                           or src == witness)))
                      for src in named]
        except (checkpoints.CheckpointError, ValueError, OSError) as exc:
            raise UserError(f"checkpoint: {exc}") from None
        wanted = frozenset().union(*(checkpoints.head_seqs(signed) for _, signed in loaded))
        total = audit.count(session)
        with click.progressbar(length=total, label="Memeriksa log audit",
                               file=sys.stderr) as bar:
            result = audit.verify(session, progress=bar.update, hashes_at=wanted)
        for source, signed in loaded:
            result.problems.extend(
                checkpoints.check(session, signed, source, hashes=result.hashes))
        if result.ok:
            checkpoints.write_checkpoint(runtime.settings, session)
    outside = [(src, len(signed)) for src, signed in loaded
               if src.startswith(("http://", "https://"))]
    for source, kept in outside:
        click.echo(f"Dibandingkan dengan saksi luar {source}: {kept} checkpoint "
                   "(compared with an external witness).")
    if not outside:
        click.echo("Tidak dibandingkan dengan saksi luar mana pun: tanpa salinan checkpoint di "
                   "luar instance, rantai yang dihitung ulang bersama berkas checkpoint-nya "
                   "tidak terlihat. Atur PUBLISHER_AUDIT_WITNESS_URL atau beri --checkpoints "
                   "URL (not compared with an external witness).")
    if result.ok:
        click.echo(f"Rantai audit utuh: {result.checked} peristiwa diperiksa (chain intact).")
        return
    for problem in result.problems:
        click.echo(f"MASALAH: {problem}")
    click.echo(f"Rantai audit RUSAK: {len(result.problems)} masalah pada {result.checked} "
               "peristiwa (chain broken).", err=True)
    sys.exit(1)


def _read_key(value: str) -> str:
    path = Path(value)
    return path.read_text() if path.is_file() else value


def _load_checkpoints(source: str, given: bool) -> Iterator[dict[str, Any]]:
    """Checkpoint records from a URL or a file, streamed (the instance file may be absent)."""
    if source.startswith(("http://", "https://")):
        try:
            response = requests.get(source, params={"format": "jsonl"}, timeout=30)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise UserError(f"checkpoint {source}: {exc}") from None
        yield from checkpoints.iter_records(response.text.splitlines())
        return
    path = Path(source)
    if not given and not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        yield from checkpoints.iter_records(lines)


@audit_group.command("public-key")
def audit_public_key() -> None:
    """Tampilkan kunci publik penandatangan checkpoint (base64 mentah dan PEM)."""
    with _opened(migrate_schema=False) as runtime:
        public = checkpoints.signing_key(runtime.settings).public_key()
    click.echo(checkpoints.public_raw_b64(public))
    click.echo(checkpoints.public_pem(public), nl=False)


# --- register --------------------------------------------------------------------------------


@cli.group(name="register")
def register_group() -> None:
    """Daftar Informasi Publik (DIP)."""


class _RowProgress:
    """Adapts ``progress(done, total)`` callbacks to a click progress bar shown on stderr."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@register_group.command("export")
@click.argument("opd_slug", metavar="OPD")
@click.option("--year", type=int, help="Tahun (default: tahun berjalan).")
@click.option("--semester", type=click.IntRange(1, 2),
              help="1 (Januari–Juni) atau 2 (Juli–Desember); default: semester berjalan.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="xlsx",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Berkas tujuan (default: dip-<opd>-<tahun>-s<semester>.<format>).")
@click.option("--descendants", is_flag=True,
              help="Sertakan OPD di bawahnya (kecamatan, desa).")
def register_export(opd_slug: str, year: int | None, semester: int | None, fmt: str,
                    output: str | None, descendants: bool) -> None:
    """Ekspor DIP satu OPD (slug) atau seluruh Pemda (all)."""
    from . import register

    slug = None if opd_slug == "all" else opd_slug
    progress = _RowProgress("Menulis DIP")
    with _opened() as runtime:
        year, semester = register.parse_period(year, semester, runtime.settings.timezone)
        path = output or f"dip-{slug or 'pemda'}-{year}-s{semester}.{fmt}"
        try:
            rows = register.export(runtime, slug, year, semester, fmt, path, progress,
                                   descendants=descendants)
        except OSError as exc:
            raise UserError(f"--output: tidak dapat menulis {path}: {exc.strerror or exc}"
                            ) from None
        finally:
            progress.close()
    click.echo(f"DIP {year} semester {semester}: {rows} informasi ditulis ke {path}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="publisher")

# These modules add their commands to ``cli`` (dik, days-off, monev).
from . import cli_dik, cli_monev  # noqa: E402, F401
