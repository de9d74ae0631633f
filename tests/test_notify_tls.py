"""Email notifications over TLS against a real aiosmtpd with a certificate from a private CA:
STARTTLS and implicit TLS (``ssl``) with login, a refused login, an untrusted certificate
(transient: the rows stay queued and go out once ``PUBLISHER_SMTP_CA_FILE`` is set), a host name
the certificate does not name, and ``starttls`` against a server that offers none."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from publisher.config import ConfigError, Settings
from publisher.models import NotificationStatus
from publisher.notify import delivery
from publisher.notify.email import AUTH_HINT
from publisher.runtime import Runtime

from .factories import Factory
from .test_notify_delivery import (
    FROM,
    PASSWORD,
    USERNAME,
    Authenticator,
    Handler,
    email_rows,
    free_port,
    mail_settings,
    submitted,
)

#: aiosmtpd warns about auth_required without auth_require_tls, which the implicit-TLS server
#: needs (see :func:`ssl_server`): that connection is TLS from its first byte.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")


# --- a private CA and a certificate for 127.0.0.1 ------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Diskominfo Uji"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(folder: Path) -> Pki:
    """A CA and a server certificate signed by it, valid for the IP 127.0.0.1 only."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Uji CA Pemda")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1")).issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    pki = Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    pki.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pki.key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return pki


@pytest.fixture()
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


# --- servers ---------------------------------------------------------------------------------


@dataclass
class TlsHandler(Handler):
    """Also records, per message, whether the server saw it over TLS and after a login."""

    seen: list[tuple[bool, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.seen.append((over_tls, bool(session.authenticated)))
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Server:
    handler: TlsHandler
    port: int


def start(controller_kw: dict[str, Any]) -> tuple[Server, Controller]:
    handler = TlsHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **controller_kw)
    controller.start()
    return Server(handler, port), controller


@pytest.fixture()
def starttls_server(pki: Pki) -> Iterator[Server]:
    """Submission on a plain port: STARTTLS required before anything else, AUTH only after
    it, and every message must come from a logged-in client."""
    server, controller = start({
        "tls_context": pki.server_context(), "require_starttls": True,
        "auth_require_tls": True, "auth_required": True, "authenticator": Authenticator()})
    yield server
    controller.stop()


@pytest.fixture()
def ssl_server(pki: Pki) -> Iterator[Server]:
    """Implicit TLS (port 465 style): the listening socket itself speaks TLS.

    aiosmtpd 1.4 counts only STARTTLS as "TLS" for ``auth_require_tls`` (it would refuse AUTH
    on an implicit-TLS connection with 538), so it is off here; :class:`TlsHandler` checks
    from the server side that every message did arrive over TLS and after a login."""
    server, controller = start({
        "ssl_context": pki.server_context(), "auth_require_tls": False,
        "auth_required": True, "authenticator": Authenticator()})
    yield server
    controller.stop()


def tls_runtime(tmp_path: Path, database_url: str, port: int, security: str,
                **kw: Any) -> Runtime:
    values: dict[str, Any] = {"smtp_username": USERNAME, "smtp_password": PASSWORD}
    values.update(kw)
    return Runtime(mail_settings(tmp_path, database_url, port, smtp_security=security,
                                 **values))


# --- delivered -------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_delivered_over_tls_with_login(
    tmp_path: Path, database_url: str, pki: Pki, request: pytest.FixtureRequest, security: str
) -> None:
    server: Server = request.getfixturevalue(f"{security}_server")
    rt = tls_runtime(tmp_path, database_url, server.port, security,
                     smtp_ca_file=str(pki.ca_file))
    try:
        submitted(Factory(rt), rt, "Rapat koordinasi", approvers=2)
        assert delivery.send_due_notifications(rt, "w1") == 2
        rows = email_rows(rt)
        assert [r.status for r in rows] == [NotificationStatus.SENT] * 2
        assert [r.last_error for r in rows] == ["", ""]
        assert server.handler.ids() == [f"<notification-{r.id}@127.0.0.1>" for r in rows]
        assert server.handler.seen == [(True, True), (True, True)]  # TLS, logged in
        assert {m.to for m in server.handler.received} == {"sari0@dinkes.example",
                                                           "sari1@dinkes.example"}
        assert delivery.send_due_notifications(rt, "w1") == 0
    finally:
        rt.db.dispose()


# --- refused -------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_wrong_password_over_tls_fails_with_the_hint_never_the_password(
    tmp_path: Path, database_url: str, pki: Pki, request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture, security: str,
) -> None:
    server: Server = request.getfixturevalue(f"{security}_server")
    wrong = "wrong-" + PASSWORD
    rt = tls_runtime(tmp_path, database_url, server.port, security,
                     smtp_ca_file=str(pki.ca_file), smtp_password=wrong)
    try:
        submitted(Factory(rt), rt, "Rapat", approvers=2)
        caplog.set_level(logging.DEBUG)
        assert delivery.send_due_notifications(rt, "w1") == 0
        rows = email_rows(rt)
        assert [r.status for r in rows] == ["failed", "retrying"]
        for row in rows:
            assert row.last_error == AUTH_HINT
            assert PASSWORD not in row.last_error and wrong not in row.last_error
        assert PASSWORD not in caplog.text
        assert server.handler.received == []
    finally:
        rt.db.dispose()


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_untrusted_certificate_is_transient_and_the_rows_stay_queued(
    tmp_path: Path, database_url: str, pki: Pki, request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture, security: str,
) -> None:
    server: Server = request.getfixturevalue(f"{security}_server")
    rt = tls_runtime(tmp_path, database_url, server.port, security)  # no CA file
    try:
        submitted(Factory(rt), rt, "Sertifikat", approvers=2)
        caplog.set_level(logging.DEBUG)
        assert delivery.send_due_notifications(rt, "w1") == 0
        rows = email_rows(rt)
        assert [r.status for r in rows] == ["retrying", "retrying"]  # not failed, not lost
        assert [r.attempts for r in rows] == [1, 0]
        for row in rows:
            assert "TLS" in row.last_error and "Sertifikat" in row.last_error
            assert "certificate not trusted" in row.last_error
            assert "PUBLISHER_SMTP_CA_FILE" in row.last_error
            assert "127.0.0.1:" in row.last_error and "issuer" in row.last_error
            assert row.sent_at is None and row.claimed_by is None
        assert PASSWORD not in caplog.text
        assert server.handler.received == []
        # Trusting the private CA lets the queued rows out, each once.
        rt.settings.smtp_ca_file = str(pki.ca_file)
        time.sleep(0.6)  # past the (test) retry cap
        assert delivery.send_due_notifications(rt, "w1") == 2
        assert [r.status for r in email_rows(rt)] == [NotificationStatus.SENT] * 2
        assert len(server.handler.ids()) == 2
    finally:
        rt.db.dispose()


def test_host_name_not_in_the_certificate_is_refused(
    tmp_path: Path, database_url: str, pki: Pki, ssl_server: Server
) -> None:
    """Verification stays on with a CA file: the certificate names 127.0.0.1, not localhost."""
    rt = tls_runtime(tmp_path, database_url, ssl_server.port, "ssl", smtp_host="localhost",
                     smtp_ca_file=str(pki.ca_file))
    try:
        submitted(Factory(rt), rt, "Nama host")
        assert delivery.send_due_notifications(rt, "w1") == 0
        (row,) = email_rows(rt)
        assert row.status == NotificationStatus.RETRYING
        assert "TLS" in row.last_error and "localhost" in row.last_error
        assert "Hostname mismatch" in row.last_error
        assert ssl_server.handler.received == []
    finally:
        rt.db.dispose()


def test_starttls_against_a_server_without_it_is_a_clear_error(
    tmp_path: Path, database_url: str, pki: Pki
) -> None:
    server, controller = start({})  # plain SMTP, no tls_context: no STARTTLS offered
    rt = tls_runtime(tmp_path, database_url, server.port, "starttls",
                     smtp_ca_file=str(pki.ca_file))
    try:
        submitted(Factory(rt), rt, "Tanpa STARTTLS", approvers=2)
        assert delivery.send_due_notifications(rt, "w1") == 0
        rows = email_rows(rt)
        assert [r.status for r in rows] == ["failed", "retrying"]
        for row in rows:
            assert "STARTTLS" in row.last_error and "PUBLISHER_SMTP_SECURITY" in row.last_error
        assert server.handler.received == []  # nothing went out in clear text
    finally:
        controller.stop()
        rt.db.dispose()


def test_ssl_against_a_plain_server_is_a_clear_tls_error(
    tmp_path: Path, database_url: str, pki: Pki
) -> None:
    server, controller = start({})
    rt = tls_runtime(tmp_path, database_url, server.port, "ssl",
                     smtp_ca_file=str(pki.ca_file))
    try:
        submitted(Factory(rt), rt, "Port salah")
        assert delivery.send_due_notifications(rt, "w1") == 0
        (row,) = email_rows(rt)
        assert row.status == NotificationStatus.RETRYING
        assert "TLS" in row.last_error and "PUBLISHER_SMTP_SECURITY" in row.last_error
        assert server.handler.received == []
    finally:
        controller.stop()
        rt.db.dispose()


# --- PUBLISHER_SMTP_CA_FILE ----------------------------------------------------------------


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PUBLISHER_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "smtp.dinas.go.id")
    monkeypatch.setenv("PUBLISHER_SMTP_FROM", FROM)


def test_ca_file_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    _env(monkeypatch, tmp_path)
    assert Settings.from_env().smtp_ca_file is None
    monkeypatch.setenv("PUBLISHER_SMTP_CA_FILE", str(pki.ca_file))
    assert Settings.from_env().smtp_ca_file == str(pki.ca_file)


def test_missing_ca_file_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path)
    missing = tmp_path / "tidak-ada.pem"
    monkeypatch.setenv("PUBLISHER_SMTP_CA_FILE", str(missing))
    with pytest.raises(ConfigError, match="PUBLISHER_SMTP_CA_FILE") as info:
        Settings.from_env()
    assert "does not exist" in str(info.value) and str(missing) in str(info.value)
    monkeypatch.setenv("PUBLISHER_SMTP_CA_FILE", str(tmp_path))  # a folder
    with pytest.raises(ConfigError, match="PUBLISHER_SMTP_CA_FILE"):
        Settings.from_env()


def test_ca_file_that_is_not_pem_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path)
    junk = tmp_path / "ca.pem"
    junk.write_text("bukan sertifikat\n")
    monkeypatch.setenv("PUBLISHER_SMTP_CA_FILE", str(junk))
    with pytest.raises(ConfigError, match=r"PUBLISHER_SMTP_CA_FILE.*PEM"):
        Settings.from_env()
