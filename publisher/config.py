"""Configuration from ``PUBLISHER_*`` environment variables, with defaults for one machine."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import secrets
import ssl
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The four zones Indonesian public bodies live in, with the label shown next to every time.
ZONE_LABELS: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"PUBLISHER_{name}")
    return value if value not in (None, "") else default


def _bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"PUBLISHER_{name} must be true or false, not {value!r}")


def _int(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"PUBLISHER_{name} must be a whole number, not {value!r}") from None


def _float(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"PUBLISHER_{name} must be a number, not {value!r}") from None


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is one of the Indonesian zones, else raise ConfigError."""
    if name not in ZONE_LABELS:
        allowed = ", ".join(ZONE_LABELS)
        raise ConfigError(f"unknown timezone {name!r}: use one of {allowed}")
    try:
        ZoneInfo(name)
    except ZoneInfoNotFoundError:  # pragma: no cover - tzdata is a dependency
        raise ConfigError(f"timezone {name!r} is not installed (install tzdata)") from None
    return name


def _timezone(name: str) -> str:
    try:
        return validate_timezone(name)
    except ConfigError as exc:
        raise ConfigError(f"PUBLISHER_TIMEZONE: {exc}") from None


@dataclass
class Settings:
    """Every setting of the service. Build with :meth:`from_env`; override in tests."""

    instance_path: Path = field(default_factory=lambda: Path.cwd() / "instance")
    database_url: str = ""
    secret_key: str = field(default="", repr=False)
    #: Earlier secret keys, still accepted for decrypting stored credentials (key rotation).
    old_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    public_base_url: str = "http://127.0.0.1:5000"
    timezone: str = "Asia/Jakarta"
    admin_password: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 5000
    #: How long a claimed publication belongs to a worker before reconciliation may take it.
    lease_seconds: int = 120
    #: Sends in flight at once per worker process.
    concurrency: int = 32
    claim_batch: int = 256
    max_attempts: int = 8
    retry_base_seconds: float = 30.0
    retry_cap_seconds: float = 3600.0
    max_body_bytes: int = 200_000
    max_upload_bytes: int = 20 * 1024 * 1024
    image_memory_mb: int = 320
    audit_witness_url: str = ""
    #: Allow outbound requests (webhooks, feeds) to loopback addresses: for tests and demos.
    allow_loopback: bool = False
    #: Comma-separated CIDRs allowed even though they are private (e.g. an intranet CMS).
    allowed_networks: tuple[str, ...] = ()
    http_timeout: float = 15.0
    graph_url: str = "https://graph.facebook.com"
    graph_version: str = "v24.0"
    log_level: str = "INFO"
    #: Ed25519 key signing audit checkpoints (PEM or base64 raw); default: instance file.
    audit_signing_key: str | None = field(default=None, repr=False)
    #: Working days ahead that a DIK entry's review (peninjauan kembali) shows as due.
    dik_review_notice_days: int = 10
    #: Outgoing mail for email notifications (None: they stay queued until it is set).
    smtp_host: str | None = None
    smtp_port: int = 587
    #: ``starttls`` (submission, port 587), ``ssl`` (implicit TLS, port 465) or ``none``.
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    #: Secret: never logged, left out of :meth:`as_dict` and of the repr.
    smtp_password: str | None = field(default=None, repr=False)
    #: The sender address of every notification email (required with a host).
    smtp_from: str | None = None
    smtp_timeout: float = 15.0
    #: Telegram bot for notifications (None: Telegram notifications stay queued).
    #: Secret: never logged, left out of :meth:`as_dict` and of the repr.
    telegram_bot_token: str | None = field(default=None, repr=False)
    #: The Bot API server (a self-hosted ``telegram-bot-api`` or a test server).
    telegram_api_url: str = "https://api.telegram.org"
    #: The bot's @username, for the t.me link shown when a person links a chat.
    telegram_bot_username: str | None = None
    telegram_timeout: float = 15.0
    #: PEM file of the CA(s) that signed the server's certificate (a private CA), used instead
    #: of the system's list; certificate and host name are always verified.
    smtp_ca_file: str | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read ``PUBLISHER_*`` variables; keyword overrides win."""
        instance = Path(_env("INSTANCE_PATH") or (Path.cwd() / "instance"))
        secret = _env("SECRET_KEY")
        if "PUBLISHER_SECRET_KEY" in os.environ and not os.environ["PUBLISHER_SECRET_KEY"].strip():
            raise ConfigError("PUBLISHER_SECRET_KEY is set but empty: give a long random value "
                              "or unset it to use the key kept in the instance folder")
        values: dict[str, Any] = {
            "instance_path": instance,
            "database_url": _env("DATABASE_URL") or "",
            "secret_key": secret or "",
            "old_secret_keys": tuple(
                k.strip() for k in (_env("OLD_SECRET_KEYS") or "").split(",") if k.strip()
            ),
            "public_base_url": (_env("PUBLIC_BASE_URL") or "").rstrip("/"),
            "timezone": _timezone(_env("TIMEZONE", "Asia/Jakarta") or "Asia/Jakarta"),
            "admin_password": _env("ADMIN_PASSWORD"),
            "host": _env("HOST", "127.0.0.1"),
            "port": _int(_env("PORT"), "PORT", 5000),
            "lease_seconds": _int(_env("LEASE_SECONDS"), "LEASE_SECONDS", 120),
            "concurrency": _int(_env("CONCURRENCY"), "CONCURRENCY", 32),
            "claim_batch": _int(_env("CLAIM_BATCH"), "CLAIM_BATCH", 256),
            "max_attempts": _int(_env("MAX_ATTEMPTS"), "MAX_ATTEMPTS", 8),
            "dik_review_notice_days": _int(_env("DIK_REVIEW_NOTICE_DAYS"),
                                           "DIK_REVIEW_NOTICE_DAYS", 10),
            "retry_base_seconds": _float(_env("RETRY_BASE_SECONDS"), "RETRY_BASE_SECONDS", 30.0),
            "retry_cap_seconds": _float(_env("RETRY_CAP_SECONDS"), "RETRY_CAP_SECONDS", 3600.0),
            "max_body_bytes": _int(_env("MAX_BODY_BYTES"), "MAX_BODY_BYTES", 200_000),
            "max_upload_bytes": _int(_env("MAX_UPLOAD_BYTES"), "MAX_UPLOAD_BYTES", 20 << 20),
            "image_memory_mb": _int(_env("IMAGE_MEMORY_MB"), "IMAGE_MEMORY_MB", 320),
            "audit_witness_url": (_env("AUDIT_WITNESS_URL") or "").strip(),
            "allow_loopback": _bool(_env("ALLOW_LOOPBACK"), "ALLOW_LOOPBACK"),
            "allowed_networks": tuple(
                n.strip() for n in (_env("ALLOWED_NETWORKS") or "").split(",") if n.strip()
            ),
            "http_timeout": _float(_env("HTTP_TIMEOUT"), "HTTP_TIMEOUT", 15.0),
            "graph_url": (_env("GRAPH_URL") or "https://graph.facebook.com").rstrip("/"),
            "graph_version": _env("GRAPH_VERSION", "v24.0"),
            "log_level": (_env("LOG_LEVEL") or "INFO").upper(),
            "audit_signing_key": _env("AUDIT_SIGNING_KEY"),
            "smtp_host": _env("SMTP_HOST"),
            "smtp_port": _int(_env("SMTP_PORT"), "SMTP_PORT", 587),
            "smtp_security": (_env("SMTP_SECURITY") or "starttls").strip().lower(),
            "smtp_username": _env("SMTP_USERNAME"),
            "smtp_password": _env("SMTP_PASSWORD"),
            "smtp_from": _env("SMTP_FROM"),
            "smtp_timeout": _float(_env("SMTP_TIMEOUT"), "SMTP_TIMEOUT", 15.0),
            "telegram_bot_token": _env("TELEGRAM_BOT_TOKEN"),
            "telegram_api_url": (_env("TELEGRAM_API_URL")
                                 or "https://api.telegram.org").rstrip("/"),
            "telegram_bot_username": (_env("TELEGRAM_BOT_USERNAME") or "").lstrip("@") or None,
            "telegram_timeout": _float(_env("TELEGRAM_TIMEOUT"), "TELEGRAM_TIMEOUT", 15.0),
            "smtp_ca_file": _env("SMTP_CA_FILE"),
        }
        values.update(overrides)
        settings = cls(**values)
        settings.finish()
        return settings

    def finish(self) -> None:
        """Check every value (ConfigError naming the variable) and fill derived defaults
        (database in the instance folder, a persisted secret key)."""
        self.instance_path = Path(self.instance_path)
        _timezone(self.timezone)
        self.validate()
        if not self.public_base_url:
            self.public_base_url = f"http://{_url_host(self.host)}:{self.port}"
        self.public_base_url = self.public_base_url.rstrip("/")
        _make_instance(self.instance_path)  # media live there whatever the database
        if not self.database_url:
            self.database_url = f"sqlite:///{self.instance_path / 'publisher.db'}"
        if not self.secret_key:
            self.secret_key = _instance_secret(self.instance_path)

    def validate(self) -> None:
        """Raise ConfigError naming the first ``PUBLISHER_*`` value out of its range."""
        for name, low, high in _RANGES:
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(f"PUBLISHER_{name.upper()} must be between {low:g} and "
                                  f"{high:g}, not {value:g}")
        if self.retry_cap_seconds < self.retry_base_seconds:
            raise ConfigError("PUBLISHER_RETRY_BASE_SECONDS must not exceed the retry cap "
                              f"({self.retry_cap_seconds:g} s)")
        validate_host(self.host)
        for network in self.allowed_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ConfigError(f"PUBLISHER_ALLOWED_NETWORKS: {network!r} is not a CIDR "
                                  "(e.g. 10.20.0.0/16)") from None
        if self.public_base_url:
            _http_url(self.public_base_url, "PUBLIC_BASE_URL", path_allowed=True)
        _http_url(self.graph_url, "GRAPH_URL", path_allowed=True)
        if self.audit_witness_url:
            _http_url(self.audit_witness_url, "AUDIT_WITNESS_URL", path_allowed=True)
        if not re.fullmatch(r"v\d+\.\d+", self.graph_version or ""):
            raise ConfigError(f"PUBLISHER_GRAPH_VERSION must look like v24.0, "
                              f"not {self.graph_version!r}")
        self._validate_smtp()
        self._validate_telegram()
        if self.secret_key and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(f"PUBLISHER_SECRET_KEY must be at least {MIN_SECRET_LENGTH} "
                              "characters (a long random value)")

    def _validate_smtp(self) -> None:
        if self.smtp_host is not None:
            validate_host(self.smtp_host, "PUBLISHER_SMTP_HOST")
        if self.smtp_security not in SMTP_SECURITY:
            raise ConfigError(f"PUBLISHER_SMTP_SECURITY must be one of "
                              f"{', '.join(SMTP_SECURITY)}, not {self.smtp_security!r}")
        if self.smtp_host is not None and self.smtp_from is None:
            raise ConfigError("PUBLISHER_SMTP_FROM is required when PUBLISHER_SMTP_HOST is "
                              "set (the sender address, e.g. ppid@dinas.go.id)")
        if self.smtp_from is not None and not _EMAIL.fullmatch(self.smtp_from):
            raise ConfigError(f"PUBLISHER_SMTP_FROM must be an email address like "
                              f"ppid@dinas.go.id, not {self.smtp_from!r}")
        if self.smtp_password and not self.smtp_username:
            raise ConfigError("PUBLISHER_SMTP_USERNAME is required when "
                              "PUBLISHER_SMTP_PASSWORD is set")
        for name, value in (("SMTP_USERNAME", self.smtp_username),
                            ("SMTP_PASSWORD", self.smtp_password)):
            if value is not None and any(c in value for c in "\r\n\x00"):
                raise ConfigError(f"PUBLISHER_{name} must not contain line breaks")
        if self.smtp_ca_file is not None:
            _ca_file(self.smtp_ca_file)

    def _validate_telegram(self) -> None:
        _http_url(self.telegram_api_url, "TELEGRAM_API_URL", path_allowed=True)
        if self.telegram_bot_token is not None and not _BOT_TOKEN.fullmatch(
                self.telegram_bot_token):
            raise ConfigError("PUBLISHER_TELEGRAM_BOT_TOKEN must look like the token "
                              "@BotFather gives (123456789:ABC-def...)")
        if self.telegram_bot_username is not None and not re.fullmatch(
                r"[A-Za-z][A-Za-z0-9_]{3,31}", self.telegram_bot_username):
            raise ConfigError(f"PUBLISHER_TELEGRAM_BOT_USERNAME must be a bot username like "
                              f"ppid_kab_bot, not {self.telegram_bot_username!r}")

    def as_dict(self) -> dict[str, Any]:
        """All settings, for ``app.config['PUBLISHER']`` introspection (secrets of other
        services, such as the SMTP password, are left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in _NOT_SHOWN}


MIN_SECRET_LENGTH = 16
SMTP_SECURITY = ("starttls", "ssl", "none")
#: Settings never shown or logged.
_NOT_SHOWN = frozenset({"smtp_password", "telegram_bot_token"})
_BOT_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
#: An address as the SMTP envelope takes it: local@domain.tld, no spaces or brackets.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?=.{1,253}$)[A-Za-z0-9-]{1,63}"
                    r"(\.[A-Za-z0-9-]{1,63})+")
#: (setting, lowest, highest) for every number.
_RANGES: tuple[tuple[str, float, float], ...] = (
    ("port", 1, 65535),
    ("lease_seconds", 1, 86400),
    ("concurrency", 1, 1024),
    ("claim_batch", 1, 10000),
    ("max_attempts", 1, 100),
    ("retry_base_seconds", 0.01, 86400),
    ("retry_cap_seconds", 0.01, 7 * 86400),
    ("max_body_bytes", 1000, 50 << 20),
    ("max_upload_bytes", 1024, 1 << 30),
    ("image_memory_mb", 32, 1 << 16),
    ("http_timeout", 0.1, 600),
    ("dik_review_notice_days", 1, 250),
    ("smtp_port", 1, 65535),
    ("smtp_timeout", 1, 300),
    ("telegram_timeout", 1, 300),
)
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def validate_host(host: str, option: str = "PUBLISHER_HOST") -> str:
    """``host`` if it is an IP address or a host name one can listen on, else ConfigError."""
    candidate = (host or "").strip()
    if candidate.startswith("[") and candidate.endswith("]"):
        candidate = candidate[1:-1]
    try:
        ipaddress.ip_address(candidate)
        return host
    except ValueError:
        pass
    if not candidate or re.fullmatch(r"[\d.]+", candidate) or not _HOSTNAME.match(candidate):
        raise ConfigError(f"{option}: {host!r} is not an IP address or host name")
    return host


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def _http_url(url: str, name: str, path_allowed: bool) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise ConfigError(f"PUBLISHER_{name}: {url!r} is not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"PUBLISHER_{name} must be an http:// or https:// URL with a host, "
                          f"not {url!r}")
    if parts.query or parts.fragment or (parts.path not in ("", "/") and not path_allowed):
        raise ConfigError(f"PUBLISHER_{name}: no query or fragment, please ({url!r})")


def _ca_file(path: str) -> None:
    """ConfigError unless ``path`` is a readable PEM file of CA certificates."""
    if not Path(path).is_file():
        raise ConfigError(f"PUBLISHER_SMTP_CA_FILE: {path!r} does not exist or is not a file "
                          "(give the PEM file of the CA that signed the SMTP server's "
                          "certificate)")
    try:
        ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"PUBLISHER_SMTP_CA_FILE: {path!r} is not a readable PEM file of "
                          f"CA certificates ({type(exc).__name__})") from None


def _make_instance(instance_path: Path) -> None:
    try:
        instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"PUBLISHER_INSTANCE_PATH: cannot create {str(instance_path)!r}: "
                          f"{exc.strerror or exc}") from None
    if not os.access(instance_path, os.W_OK | os.X_OK):
        raise ConfigError(f"PUBLISHER_INSTANCE_PATH: {str(instance_path)!r} is not writable")
    _tighten(instance_path)


#: What an older release left readable by others in the instance folder.
_PRIVATE_FILES = ("audit_checkpoints.jsonl", "audit_signing_key", "secret_key")


def _tighten(instance_path: Path) -> None:
    """Make what an older release (or a copy) left readable by others private again: the
    key and checkpoint files 0600, the media folder 0700 (which closes everything below it
    to others, without walking thousands of files at every start)."""
    with contextlib.suppress(OSError):  # not ours to change: the service still runs
        for name in _PRIVATE_FILES:
            path = instance_path / name
            if path.is_file() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        media = instance_path / "media"
        if media.is_dir() and media.stat().st_mode & 0o077:
            media.chmod(0o700)


def _instance_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, so a default install survives restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        if key_file.stat().st_mode & 0o077:
            key_file.chmod(0o600)  # an older install (or a copy) left it readable by others
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
