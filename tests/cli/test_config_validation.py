"""Every bad ``PUBLISHER_*`` value or CLI option stops the command with a message naming it
and exit code 2, before anything is opened or written (issue 13, item 5)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from publisher.config import ConfigError, Settings, validate_host
from publisher.models import User
from publisher.runtime import Runtime

from .conftest import Cli

BAD_ENVIRONMENT = [
    ("PORT", "70000", "PUBLISHER_PORT must be between 1 and 65535"),
    ("PORT", "0", "PUBLISHER_PORT must be between 1 and 65535"),
    ("PORT", "lima ribu", "PUBLISHER_PORT must be a whole number"),
    ("MAX_ATTEMPTS", "-1", "PUBLISHER_MAX_ATTEMPTS must be between 1 and 100"),
    ("CONCURRENCY", "0", "PUBLISHER_CONCURRENCY must be between 1 and 1024"),
    ("CLAIM_BATCH", "1000000", "PUBLISHER_CLAIM_BATCH must be between"),
    ("LEASE_SECONDS", "0", "PUBLISHER_LEASE_SECONDS must be between"),
    ("RETRY_BASE_SECONDS", "-5", "PUBLISHER_RETRY_BASE_SECONDS must be between"),
    ("RETRY_BASE_SECONDS", "90000", "PUBLISHER_RETRY_BASE_SECONDS must be between"),
    ("MAX_BODY_BYTES", "10", "PUBLISHER_MAX_BODY_BYTES must be between"),
    ("MAX_UPLOAD_BYTES", "-1", "PUBLISHER_MAX_UPLOAD_BYTES must be between"),
    ("HTTP_TIMEOUT", "0", "PUBLISHER_HTTP_TIMEOUT must be between"),
    ("HTTP_TIMEOUT", "nan?", "PUBLISHER_HTTP_TIMEOUT must be a number"),
    ("ALLOWED_NETWORKS", "notacidr", "PUBLISHER_ALLOWED_NETWORKS: 'notacidr' is not a CIDR"),
    ("ALLOWED_NETWORKS", "10.0.0.0/8,10.300.0.0/16", "'10.300.0.0/16' is not a CIDR"),
    ("PUBLIC_BASE_URL", "ftp://x", "PUBLISHER_PUBLIC_BASE_URL must be an http:// or https://"),
    ("PUBLIC_BASE_URL", "situs.go.id", "PUBLISHER_PUBLIC_BASE_URL must be an http:// or https://"),
    ("PUBLIC_BASE_URL", "https://situs.go.id:99999", "PUBLISHER_PUBLIC_BASE_URL: "),
    ("PUBLIC_BASE_URL", "https://situs.go.id/?a=1", "no query or fragment"),
    ("GRAPH_URL", "javascript:alert(1)", "PUBLISHER_GRAPH_URL must be an http:// or https://"),
    ("GRAPH_VERSION", "24", "PUBLISHER_GRAPH_VERSION must look like v24.0"),
    ("SECRET_KEY", "", "PUBLISHER_SECRET_KEY is set but empty"),
    ("SECRET_KEY", "   ", "PUBLISHER_SECRET_KEY is set but empty"),
    ("SECRET_KEY", "pendek", "PUBLISHER_SECRET_KEY must be at least 16 characters"),
    ("HOST", "256.1.1.1", "PUBLISHER_HOST: '256.1.1.1' is not an IP address or host name"),
    ("HOST", "bad host!", "PUBLISHER_HOST: 'bad host!' is not an IP address or host name"),
    ("TIMEZONE", "Europe/Paris", "PUBLISHER_TIMEZONE: unknown timezone"),
    ("ALLOW_LOOPBACK", "maybe", "PUBLISHER_ALLOW_LOOPBACK must be true or false"),
    ("LOG_LEVEL", "LOUD", "PUBLISHER_LOG_LEVEL: unknown level"),
]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("name", "value", "message"), BAD_ENVIRONMENT,
                         ids=[f"{n}={v!r}" for n, v, _ in BAD_ENVIRONMENT])
def test_bad_environment_value_exits_2_naming_it(publisher: Cli, tmp_path: Path, name: str,
                                                 value: str, message: str) -> None:
    database = tmp_path / "never.db"
    result = publisher("db", "upgrade", **{f"PUBLISHER_{name}": value,
                                           "PUBLISHER_DATABASE_URL": f"sqlite:///{database}"})
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    assert "Traceback" not in result.output
    assert not database.exists(), "nothing is opened before the settings are checked"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("option", [["--host", "256.1.1.1"], ["--host", "a..b"],
                                    ["--port", "70000"]])
def test_bad_listen_option_exits_2(publisher: Cli, option: list[str]) -> None:
    for command in ("run", "web"):
        result = publisher(command, *option)
        assert result.exit_code == 2, result.output
        assert option[0] in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_impossible_instance_path_exits_2(publisher: Cli, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for path in (blocker, blocker / "below"):
        result = publisher("db", "upgrade", PUBLISHER_INSTANCE_PATH=str(path),
                           PUBLISHER_DATABASE_URL="")
        assert result.exit_code == 2, result.output
        assert "PUBLISHER_INSTANCE_PATH: cannot create" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder anyway")
def test_read_only_instance_path_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ConfigError, match=r"PUBLISHER_INSTANCE_PATH: .* is not writable"):
        Settings(instance_path=locked, database_url="sqlite://", secret_key="x" * 20).finish()


def test_good_values_pass(tmp_path: Path) -> None:
    settings = Settings(instance_path=tmp_path / "ok", database_url="sqlite://",
                        secret_key="x" * 20, host="::1", port=8080,
                        allowed_networks=("10.20.0.0/16", "fd00::/8"),
                        public_base_url="https://ppid.serdangbedagaikab.go.id/portal/")
    settings.finish()
    assert settings.public_base_url == "https://ppid.serdangbedagaikab.go.id/portal"
    default = Settings(instance_path=tmp_path / "ok", database_url="sqlite://",
                       secret_key="x" * 20, host="::1", public_base_url="")
    default.finish()
    assert default.public_base_url == "http://[::1]:5000"
    for host in ("0.0.0.0", "localhost", "publisher-web", "[::]", "opd.example.go.id"):
        assert validate_host(host) == host


BAD_PEOPLE = [
    (["--nip", "12345"], "NIP harus 18 angka"),
    (["--nip", "19800101201001100x"], "NIP harus 18 angka"),
    (["--nip", "١٩٨٠٠١٠١٢٠١٠٠١١٠٠١"], "NIP harus 18 angka"),  # Arabic-Indic digits
    (["--full-name", "N" * 201], "nama lengkap paling panjang 200 karakter"),
    (["--jabatan", "J" * 201], "jabatan paling panjang 200 karakter"),
]


@pytest.mark.parametrize(("args", "message"), BAD_PEOPLE, ids=[a[0] for a, _ in BAD_PEOPLE])
def test_cli_applies_the_service_limits_to_people(publisher: Cli, runtime: Runtime,
                                                  args: list[str], message: str) -> None:
    result = publisher("user", "create", "budi", "--role", "auditor", "--password-stdin",
                       *args, input="kata-sandi-panjang-1\n")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert args[0] in result.output, "the option is named"
    with runtime.db.read() as s:
        assert s.scalar(select(func.count()).select_from(User)) == 0, "nothing half-written"


def test_a_name_is_one_line_without_control_characters(publisher: Cli,
                                                       runtime: Runtime) -> None:
    """The text policy: line breaks and control characters leave a single-line field."""
    result = publisher("user", "create", "budi", "--role", "auditor", "--password-stdin",
                       "--full-name", "Budi\nSantoso\x1b", input="kata-sandi-panjang-1\n")
    assert result.exit_code == 0, result.output
    with runtime.db.read() as s:
        assert s.scalars(select(User.full_name)).one() == "Budi Santoso"


def test_cli_refuses_an_overlong_opd_name(publisher: Cli) -> None:
    result = publisher("opd", "create", "D" * 201)
    assert result.exit_code == 2
    assert "NAME" in result.output and "paling panjang 200" in result.output
