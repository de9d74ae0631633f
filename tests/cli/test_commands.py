"""The administration commands: what they store, and exit code 2 with a message on bad input."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import func, select

from publisher.cli import UserError, ensure_admin
from publisher.models import ApiToken, AuditEvent, Membership, Opd, User
from publisher.runtime import Runtime
from publisher.security import token_digest, verify_password

from ..conftest import make_settings
from .conftest import Cli


def count(runtime: Runtime, model: type) -> int:
    with runtime.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_opd_create_stores_the_opd_and_its_parent(publisher: Cli, runtime: Runtime) -> None:
    pemda = publisher("opd", "create", "Pemerintah Kabupaten Serdang Bedagai", "--slug", "pemkab")
    assert pemda.exit_code == 0, pemda.output
    done = publisher("opd", "create", "Kecamatan Sei Rampah", "--parent", "pemkab",
                     "--timezone", "Asia/Jakarta", "--no-approval")
    assert done.exit_code == 0, done.output
    assert "kecamatan-sei-rampah" in done.output
    with runtime.db.read() as s:
        kec = s.scalars(select(Opd).where(Opd.slug == "kecamatan-sei-rampah")).one()
        assert kec.parent is not None and kec.parent.slug == "pemkab"
        assert kec.approval_required is False


def test_opd_create_takes_the_default_zone_from_the_environment(
    publisher: Cli, runtime: Runtime
) -> None:
    done = publisher("opd", "create", "Dinas Kominfo Kota Jayapura",
                     PUBLISHER_TIMEZONE="Asia/Jayapura")
    assert done.exit_code == 0, done.output
    with runtime.db.read() as s:
        assert s.scalars(select(Opd.timezone)).one() == "Asia/Jayapura"


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--timezone", "Mars/Olympus"], ["--timezone", "Mars/Olympus", "Asia/Jakarta"]),
        (["--parent", "tidak-ada"], ["--parent", "tidak-ada", "tidak ditemukan"]),
    ],
)
def test_opd_create_bad_input(publisher: Cli, runtime: Runtime, args: list[str],
                              needles: list[str]) -> None:
    result = publisher("opd", "create", "Dinas Uji", *args)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output
    assert "Traceback" not in result.output
    assert count(runtime, Opd) == 0


def test_opd_create_twice_is_a_conflict(publisher: Cli, runtime: Runtime) -> None:
    assert publisher("opd", "create", "Dinas Uji").exit_code == 0
    again = publisher("opd", "create", "Dinas Uji")
    assert again.exit_code == 2
    assert "sudah ada" in again.output
    assert count(runtime, Opd) == 1


def test_opd_create_empty_name(publisher: Cli) -> None:
    result = publisher("opd", "create", "  ")
    assert result.exit_code == 2
    assert "NAME" in result.output and "wajib" in result.output


def test_user_create_prints_a_generated_password_once(publisher: Cli, runtime: Runtime) -> None:
    assert publisher("opd", "create", "Dinas Uji", "--slug", "uji").exit_code == 0
    done = publisher("user", "create", "Budi.Santoso", "--role", "editor", "--opd", "uji",
                     "--full-name", "Budi Santoso", "--nip", "198001012010011001",
                     "--jabatan", "Pranata Humas")
    assert done.exit_code == 0, done.output
    password = done.output.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    with runtime.db.read() as s:
        user = s.scalars(select(User).where(User.username == "budi.santoso")).one()
        assert verify_password(user.password_hash, password)
        assert (user.full_name, user.nip, user.jabatan) == (
            "Budi Santoso", "198001012010011001", "Pranata Humas")
        assert [(m.role, m.opd_id is not None) for m in user.memberships] == [("editor", True)]
        events = s.scalars(select(AuditEvent.detail)).all()
    assert all(password not in str(detail) for detail in events)


def test_user_create_reads_the_password_from_stdin(publisher: Cli, runtime: Runtime) -> None:
    done = publisher("user", "create", "auditor1", "--role", "auditor", "--password-stdin",
                     input="kata-sandi-panjang-1\n")
    assert done.exit_code == 0, done.output
    assert "kata-sandi-panjang-1" not in done.output
    with runtime.db.read() as s:
        user = s.scalars(select(User).where(User.username == "auditor1")).one()
        assert verify_password(user.password_hash, "kata-sandi-panjang-1")


@pytest.mark.parametrize(
    ("args", "stdin", "needles"),
    [
        (["--role", "editor", "--opd", "tidak-ada"], None, ["--opd", "tidak-ada"]),
        (["--role", "kepala"], None, ["--role", "kepala"]),
        (["--role", "editor"], None, ["--opd", "editor"]),
        (["--role", "admin", "--opd", "uji"], None, ["--opd", "semua OPD"]),
        (["--role", "auditor", "--password-stdin"], "pendek\n", ["minimal 10"]),
        (["--role", "auditor", "--password-stdin"], "", ["--password-stdin"]),
    ],
)
def test_user_create_bad_input(publisher: Cli, runtime: Runtime, args: list[str],
                               stdin: str | None, needles: list[str]) -> None:
    assert publisher("opd", "create", "Dinas Uji", "--slug", "uji").exit_code == 0
    result = publisher("user", "create", "siti", *args, input=stdin)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output
    assert count(runtime, User) == 0


def test_user_create_bad_username_and_duplicate(publisher: Cli, runtime: Runtime) -> None:
    bad = publisher("user", "create", "siti nurhaliza", "--role", "auditor")
    assert bad.exit_code == 2
    assert "USERNAME" in bad.output
    assert publisher("user", "create", "siti", "--role", "auditor").exit_code == 0
    again = publisher("user", "create", "SITI", "--role", "auditor")
    assert again.exit_code == 2
    assert "sudah ada" in again.output
    assert count(runtime, User) == 1


def test_user_password_changes_it(publisher: Cli, runtime: Runtime) -> None:
    assert publisher("user", "create", "siti", "--role", "auditor").exit_code == 0
    done = publisher("user", "password", "siti", "--password-stdin",
                     input="kata-sandi-baru-123\n")
    assert done.exit_code == 0, done.output
    with runtime.db.read() as s:
        user = s.scalars(select(User).where(User.username == "siti")).one()
        assert verify_password(user.password_hash, "kata-sandi-baru-123")
        actions = s.scalars(select(AuditEvent.action)).all()
    assert "user.password_changed" in actions
    missing = publisher("user", "password", "tidak-ada")
    assert missing.exit_code == 2
    assert "tidak-ada" in missing.output


def test_token_create_prints_a_working_token_once(publisher: Cli, runtime: Runtime) -> None:
    assert publisher("user", "create", "siti", "--role", "auditor").exit_code == 0
    done = publisher("token", "create", "siti", "--name", "integrasi situs")
    assert done.exit_code == 0, done.output
    token = done.stdout.strip()
    assert token.startswith("opdp_")
    with runtime.db.read() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash == token_digest(token)
        assert row.name == "integrasi situs"
    missing = publisher("token", "create", "budi")
    assert missing.exit_code == 2
    assert "budi" in missing.output


def test_audit_verify_on_an_intact_chain(publisher: Cli) -> None:
    assert publisher("opd", "create", "Dinas Uji", "--slug", "uji").exit_code == 0
    assert publisher("user", "create", "siti", "--role", "editor", "--opd", "uji").exit_code == 0
    result = publisher("audit", "verify")
    assert result.exit_code == 0, result.output
    # opd.created, user.created, and the fingerprints of the user and membership rows
    assert "utuh: 4 peristiwa" in result.output


def test_db_upgrade_at_head_is_a_no_op(publisher: Cli) -> None:
    result = publisher("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "sudah mutakhir" in result.output


def test_db_upgrade_creates_the_schema_then_is_idempotent(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'kosong.db'}", tmp_path / "instance")
    first = cli("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "dimigrasikan: kosong" in first.output
    second = cli("db", "upgrade")
    assert second.exit_code == 0, second.output
    assert "sudah mutakhir" in second.output


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"PUBLISHER_TIMEZONE": "Europe/Amsterdam"}, "PUBLISHER_TIMEZONE"),
        ({"PUBLISHER_PORT": "lima-ribu"}, "PUBLISHER_PORT"),
        ({"PUBLISHER_ALLOW_LOOPBACK": "mungkin"}, "PUBLISHER_ALLOW_LOOPBACK"),
        ({"PUBLISHER_LOG_LEVEL": "BERISIK"}, "PUBLISHER_LOG_LEVEL"),
        ({"PUBLISHER_DATABASE_URL": "bukan url"}, "PUBLISHER_DATABASE_URL"),
    ],
)
def test_bad_configuration_is_exit_2_naming_the_variable(
    publisher: Cli, env: dict[str, str], needle: str
) -> None:
    result = publisher("opd", "create", "Dinas Uji", **env)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_unreachable_database_is_a_clear_error(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'tidak' / 'ada' / 'x.db'}", tmp_path / "instance")
    result = cli("db", "upgrade")
    assert result.exit_code == 2
    assert "basis data tidak dapat dipakai" in result.output


def test_web_on_a_port_in_use_is_exit_2(publisher: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = publisher("web", "--port", str(port), PUBLISHER_ADMIN_PASSWORD="admin-rahasia-1")
    assert result.exit_code == 2, result.output
    assert f"127.0.0.1:{port}" in result.output


def test_bad_port_option(publisher: Cli) -> None:
    result = publisher("run", "--port", "70000")
    assert result.exit_code == 2
    assert "--port" in result.output


def test_first_run_creates_the_admin_once(runtime: Runtime) -> None:
    created = ensure_admin(runtime)
    assert created is not None
    username, password = created
    assert username == "admin" and password
    with runtime.db.read() as s:
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        assert verify_password(admin.password_hash, password)
        assert [m.role for m in admin.memberships] == ["admin"]
    assert ensure_admin(runtime) is None
    assert count(runtime, User) == 1


def test_first_run_takes_the_admin_password_from_the_environment(
    tmp_path: Path, database_url: str
) -> None:
    rt = Runtime(make_settings(tmp_path, database_url, admin_password="dari-lingkungan-1"))
    try:
        assert ensure_admin(rt) == ("admin", None)
        with rt.db.read() as s:
            admin = s.scalars(select(User).where(User.username == "admin")).one()
            assert verify_password(admin.password_hash, "dari-lingkungan-1")
    finally:
        rt.db.dispose()


def test_first_run_refuses_a_short_admin_password(tmp_path: Path, database_url: str) -> None:
    rt = Runtime(make_settings(tmp_path, database_url, admin_password="pendek"))
    try:
        with pytest.raises(UserError, match="PUBLISHER_ADMIN_PASSWORD"):
            ensure_admin(rt)
        assert count(rt, User) == 0
    finally:
        rt.db.dispose()


def test_no_admin_is_created_when_users_exist(publisher: Cli, runtime: Runtime) -> None:
    assert publisher("user", "create", "siti", "--role", "auditor").exit_code == 0
    assert ensure_admin(runtime) is None
    with runtime.db.read() as s:
        assert s.scalars(select(Membership.role)).all() == ["auditor"]
