"""Email notifications: the message, and an SMTP conversation that sends each one once.

The message is a stdlib :class:`~email.message.EmailMessage`: the plain text (the notification
body and its link, made absolute with ``PUBLISHER_PUBLIC_BASE_URL``) and an HTML alternative
made from the same text with every value escaped. Its ``Message-ID`` is stable,
``<notification-{id}@{host of the public base URL}>``, so a copy sent twice can be recognised.

Exactly once
------------
The envelope and the body go through smtplib's lower-level calls: ``MAIL``, ``RCPT``, ``DATA``
and the dot-stuffed body *without* the terminating ``CRLF . CRLF``. Only then does
:meth:`SmtpSender.send` call ``before_commit()``, which marks the row ``sent`` in its own short
transaction (and refuses when another worker took the row over after our lease ran out), and
then it writes the terminator and reads the server's reply:

- a crash, a lost connection or a failing ``before_commit`` before that commit: the server
  never received the terminator, so it discards the message (RFC 5321 §4.1.1.4); the row is
  still ``sending`` and is claimed again after its lease (or put back by the caller);
- a reply other than 250, or a failed write of the terminator: the caller puts the row back
  to ``retrying`` (4xx, connection) or ``failed`` (5xx).

Two narrow windows remain. A hard crash (SIGKILL, power) between the commit and the single
socket write of the terminator loses that one message: the row says ``sent`` but the server
discards the unfinished DATA. And a connection lost *after* the terminator was written but
before the reply was read is retried, so the server may already have accepted it: that copy
carries the same Message-ID.

Errors are the channels' typed errors: connection refused, timeouts and 4xx replies are
:class:`TransientError`; a refused recipient or bad address (5xx) is :class:`PermanentError`;
a refused login (535) is :class:`AuthError` naming the settings to fix, never the password.

TLS
---
``ssl`` (implicit TLS) and ``starttls`` always verify the server's certificate and its host
name against ``PUBLISHER_SMTP_HOST``: the system's CAs, or only those of
``PUBLISHER_SMTP_CA_FILE`` (a private CA) when it is set. A certificate that does not verify is
a :class:`ConnectFailed` naming TLS and the setting: the notifications stay queued and are
retried once the certificate or the setting is fixed.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from markupsafe import escape

from ..channels.base import AuthError, PermanentError, TransientError
from ..config import Settings
from ..timeutil import utcnow

#: What a refused login tells the operator (never the password itself).
AUTH_HINT = ("Server SMTP menolak login: periksa PUBLISHER_SMTP_USERNAME dan "
             "PUBLISHER_SMTP_PASSWORD (SMTP login refused: check PUBLISHER_SMTP_USERNAME and "
             "PUBLISHER_SMTP_PASSWORD)")


class ConnectFailed(TransientError):
    """The SMTP server could not be reached or the session could not be set up: every other
    message of the batch would fail the same way."""


@dataclass(frozen=True)
class Outgoing:
    """One email notification, copied out of the database before the SMTP conversation."""

    id: int
    to: str
    subject: str
    body_text: str
    link: str


def absolute_link(settings: Settings, link: str) -> str:
    """``link`` (a path) made absolute with the public base URL."""
    if not link or re.match(r"^https?://", link):
        return link
    return settings.public_base_url.rstrip("/") + "/" + link.lstrip("/")


def message_id(settings: Settings, notification_id: int) -> str:
    """The stable Message-ID of one notification."""
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    return f"<notification-{notification_id}@{host}>"


def build_message(settings: Settings, n: Outgoing) -> EmailMessage:
    """Plain text with an escaped HTML alternative, and the headers."""
    url = absolute_link(settings, n.link)
    text = n.body_text.rstrip()
    if url:
        text += f"\n\nBuka / Open: {url}"
    html_body = "<br>\n".join(str(escape(line)) for line in n.body_text.rstrip().split("\n"))
    if url:
        html_body += (f'<br>\n<br>\nBuka / Open: <a href="{escape(url)}">{escape(url)}</a>')
    msg = EmailMessage()
    msg["From"] = settings.smtp_from or ""
    msg["To"] = n.to
    msg["Subject"] = n.subject.replace("\r", " ").replace("\n", " ")
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(settings, n.id)
    msg.set_content(text + "\n")
    msg.add_alternative(
        "<!DOCTYPE html>\n<html><body>\n<p>" + html_body + "</p>\n</body></html>\n",
        subtype="html")
    return msg


#: CRLF line endings; headers folded only past 998 characters (RFC 5322's hard limit): the
#: stdlib folds some 79-character subjects onto a line of their own, which some readers show
#: with a leading space.
_WIRE = policy.SMTP.clone(max_line_length=998)


def wire_body(msg: EmailMessage) -> bytes:
    """The DATA body: CRLF line endings, dot-stuffed, ending with CRLF, no terminator."""
    data = msg.as_bytes(policy=_WIRE)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _reply_error(stage: str, code: int, reply: bytes | str) -> TransientError | PermanentError:
    text = (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)[:300]
    message = f"Server SMTP menjawab {code} pada {stage}: {text}"
    if 500 <= code < 600:
        return PermanentError(message, detail=f"{stage} {code}")
    return TransientError(message, detail=f"{stage} {code}")


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The client context: certificate and host name verified, ``PUBLISHER_SMTP_CA_FILE``
    (when set) instead of the system's CAs."""
    context = ssl.create_default_context(cafile=settings.smtp_ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def _tls_failed(host: str, port: int, exc: ssl.SSLError) -> ConnectFailed:
    """What a failed TLS handshake tells the operator."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or "certificate verify failed"
        return ConnectFailed(
            f"Sertifikat TLS server SMTP {host}:{port} tidak dipercaya ({reason}): periksa "
            "sertifikat server dan PUBLISHER_SMTP_CA_FILE (TLS certificate not trusted)",
            detail="tls certificate")
    return ConnectFailed(
        f"Jabat tangan TLS dengan server SMTP {host}:{port} gagal ({exc.reason or exc}): "
        "periksa PUBLISHER_SMTP_SECURITY dan PUBLISHER_SMTP_PORT (TLS handshake failed)",
        detail="tls handshake")


class SmtpSender:
    """One SMTP connection, reused across a batch and opened again after a failure."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        host, port, timeout = s.smtp_host or "", s.smtp_port, s.smtp_timeout
        try:
            smtp: smtplib.SMTP
            if s.smtp_security == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(s))
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
        except ssl.SSLError as exc:
            raise _tls_failed(host, port, exc) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ConnectFailed(f"Server SMTP {host}:{port} tidak dapat dihubungi: "
                                f"{type(exc).__name__}: {exc}") from None
        try:
            # The terminator is a small write after the body: without this, Nagle's algorithm
            # holds it until the server's delayed ACK (~40 ms a message).
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code, _reply = smtp.ehlo()
            if code != 250:
                raise ConnectFailed(f"Server SMTP menolak EHLO ({code})")
            if s.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise AuthError("Server SMTP tidak menawarkan STARTTLS: periksa "
                                    "PUBLISHER_SMTP_SECURITY (server offers no STARTTLS)")
                smtp.starttls(context=tls_context(s))
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
        except smtplib.SMTPAuthenticationError as exc:
            self._drop(smtp)
            raise AuthError(AUTH_HINT, detail=f"login {exc.smtp_code}") from None
        except smtplib.SMTPNotSupportedError:
            self._drop(smtp)
            raise AuthError("Server SMTP tidak mendukung login (AUTH): periksa "
                            "PUBLISHER_SMTP_USERNAME dan PUBLISHER_SMTP_SECURITY") from None
        except (AuthError, ConnectFailed):
            self._drop(smtp)
            raise
        except ssl.SSLError as exc:
            self._drop(smtp)
            raise _tls_failed(host, port, exc) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop(smtp)
            raise ConnectFailed(f"Sesi SMTP dengan {host}:{port} gagal: "
                                f"{type(exc).__name__}") from None
        return smtp

    def check(self) -> None:
        """Connect, secure and log in as for sending, then QUIT (raises as :meth:`send`)."""
        self.close()
        self._smtp = self._connect()
        self.close()

    @staticmethod
    def _drop(smtp: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError):  # closing a dead socket
            smtp.close()

    def close(self) -> None:
        """QUIT and close (quietly: the connection may be gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._drop(smtp)

    def abort(self) -> None:
        """Close the socket without QUIT or terminator: an unfinished DATA is discarded."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            self._drop(smtp)

    def send(self, msg: EmailMessage, to: str, before_commit: Callable[[], None]) -> None:
        """Send ``msg`` to ``to``; ``before_commit`` runs after the body and before its
        terminator (see the module docstring). Raises a typed ChannelError."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            code, reply = smtp.mail(self.settings.smtp_from or "")
            if code != 250:
                self._reset(code)
                raise _reply_error("MAIL FROM", code, reply)
            code, reply = smtp.rcpt(to)
            if code not in (250, 251):
                self._reset(code)
                raise _reply_error("RCPT TO", code, reply)
            code, reply = smtp.docmd("DATA")
            if code != 354:
                self._reset(code)
                raise _reply_error("DATA", code, reply)
            smtp.send(wire_body(msg))
        except (OSError, smtplib.SMTPException) as exc:
            self.abort()
            raise TransientError(f"Koneksi SMTP terputus saat mengirim: {type(exc).__name__}"
                                 ) from None
        try:
            before_commit()
        except BaseException:
            self.abort()  # no terminator: the server discards the message
            raise
        try:
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self.abort()
            raise TransientError(f"Koneksi SMTP terputus setelah pesan dikirim: "
                                 f"{type(exc).__name__}", uncertain=True) from None
        if code != 250:
            if code == 421:
                self.abort()
            raise _reply_error("akhir DATA", code, reply)

    def _reset(self, code: int) -> None:
        """After a refused command: RSET to reuse the connection (421: it is closing)."""
        if code == 421 or self._smtp is None:
            self.abort()
            return
        try:
            self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.abort()
