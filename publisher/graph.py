"""A small Meta Graph API client on ``facebook-sdk``, with Graph errors mapped to channel errors.

What this module adds to ``facebook.GraphAPI`` (see ``docs/meta.md`` and meta-graph.md):

* **Version and base URL shim** (:func:`configure_sdk`, :func:`api_version`). The SDK checks
  ``version`` against a list that ends at 3.1, so the client is built without one and
  ``api.version`` is set afterwards. The SDK joins every request onto the *module constant*
  ``facebook.FACEBOOK_GRAPH_URL``; :func:`configure_sdk` sets it from ``PUBLISHER_GRAPH_URL``.
  That is process-wide: one process talks to one Graph host (the real one, or a test server).
* **Token in a header.** The SDK would put the token in the query string or form body. We give it
  no token and send ``Authorization: Bearer`` through our own ``requests.Session``.
* **Usage headers.** The SDK drops the HTTP status and headers; a response hook keeps them, and
  a process-wide tracker stops writes to an object that Meta says is at its limit.
* **Typed errors.** :func:`classify` maps every Graph error code of meta-graph.md, through one
  table, to TransientError / RateLimited / AuthError / PermanentError with a message in Bahasa
  Indonesia that tells the operator what to do.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import facebook
import requests

from .channels.base import (
    AuthError,
    ChannelError,
    NotReady,
    PermanentError,
    RateLimited,
    TransientError,
)
from .config import ConfigError
from .netguard import never_sent

# --- the SDK shim ---------------------------------------------------------------------------

_VERSION = re.compile(r"^v?(\d{1,2})(?:\.(\d{1,2}))?$")


def api_version(value: str) -> str:
    """``"24.0"``, ``"v24"`` or ``"v24.0"`` → ``"v24.0"``; ConfigError otherwise."""
    match = _VERSION.match(value.strip())
    if not match:
        raise ConfigError(
            f"PUBLISHER_GRAPH_VERSION must look like v24.0, not {value!r}"
        )
    return f"v{int(match.group(1))}.{int(match.group(2) or 0)}"


def configure_sdk(graph_url: str) -> None:
    """Point ``facebook-sdk`` at ``graph_url`` (process-wide: the SDK reads a module constant)."""
    facebook.FACEBOOK_GRAPH_URL = graph_url.rstrip("/") + "/"


# --- usage headers --------------------------------------------------------------------------

#: At or above this percentage of any usage figure we stop writing until Meta's estimate passes.
USAGE_CEILING = 95.0
#: How long to wait when a figure is at the ceiling but Meta gives no estimate.
DEFAULT_BACKOFF = 60.0


@dataclass
class Usage:
    """The rate-usage headers of one answer (percentages; regain time in minutes)."""

    app: dict[str, Any] = field(default_factory=dict)
    page: dict[str, Any] = field(default_factory=dict)
    #: X-Business-Use-Case-Usage: business object id → list of usage entries.
    business: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: Any) -> Usage:
        """Parse the headers of a Graph answer (bad JSON is ignored, never fatal)."""
        business = {
            str(obj): [e for e in entries if isinstance(e, dict)]
            for obj, entries in _json_header(headers, "X-Business-Use-Case-Usage").items()
            if isinstance(entries, list)
        }
        return cls(
            app=_json_header(headers, "X-App-Usage"),
            page=_json_header(headers, "X-Page-Usage"),
            business=business,
        )

    def entries(self) -> list[dict[str, Any]]:
        """Every usage figure set, app and Page first."""
        return [self.app, self.page, *(e for v in self.business.values() for e in v)]

    def peak(self) -> float:
        """The highest usage percentage in any header."""
        return max((_peak(entry) for entry in self.entries()), default=0.0)

    def regain_seconds(self) -> float | None:
        """Meta's ``estimated_time_to_regain_access`` (minutes) as seconds, if any is given."""
        longest = max((_regain(entry) for entry in self.entries()), default=0.0)
        return longest if longest > 0 else None


def _number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def _peak(entry: dict[str, Any]) -> float:
    return max(_number(entry.get(k)) for k in ("call_count", "total_time", "total_cputime"))


def _regain(entry: dict[str, Any]) -> float:
    """Seconds (the header gives minutes)."""
    return _number(entry.get("estimated_time_to_regain_access")) * 60


def _json_header(headers: Any, name: str) -> Any:
    raw = headers.get(name)
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Throttle:
    """Process-wide: objects (or the whole app) Meta told us to leave alone until a time."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, graph_url: str, object_id: str, usage: Usage) -> None:
        """Remember figures at the ceiling; X-Page-Usage belongs to the object just called."""
        now = time.time()
        regain = usage.regain_seconds()
        updates: dict[str, float] = {}
        figures = [("app", usage.app), (object_id, usage.page)]
        figures += [(obj, e) for obj, entries in usage.business.items() for e in entries]
        for key, entry in figures:
            own = _regain(entry)
            if _peak(entry) >= USAGE_CEILING or own > 0:
                updates[f"{graph_url}|{key}"] = now + (own or regain or DEFAULT_BACKOFF)
        if updates:
            with self._lock:
                for key, until in updates.items():
                    self._until[key] = max(until, self._until.get(key, 0.0))

    def wait_for(self, graph_url: str, object_id: str) -> float:
        """Seconds until writes to ``object_id`` may resume (0: now)."""
        now = time.time()
        with self._lock:
            until = max(
                self._until.get(f"{graph_url}|app", 0.0),
                self._until.get(f"{graph_url}|{object_id}", 0.0),
            )
        return max(0.0, until - now)

    def reset(self) -> None:
        with self._lock:
            self._until.clear()


throttle = _Throttle()


# --- error mapping --------------------------------------------------------------------------


class Kind(Enum):
    TRANSIENT = "transient"
    RATE = "rate"
    PUBLISH_LIMIT = "publish_limit"
    AUTH = "auth"
    PERMISSION = "permission"
    INVALID = "invalid"
    MEDIA = "media"
    NOT_READY = "not_ready"


class ContainerNotReady(NotReady):
    """Instagram 9007 / 2207027: the container is still being processed. Not a failure."""


class ReadIncomplete(TransientError):
    """A listing searched for an earlier post ended before reaching the time it was sent:
    the reconciliation did not complete."""


class PublishingLimitReached(RateLimited):
    """Instagram 9 / 2207042: the rolling 24-hour publishing quota is spent."""


_RECONNECT = "Sambungkan ulang Halaman di menu Kanal; publikasinya ditahan sampai itu dilakukan."

#: The one table: (code, subcode or None for any) → class of error and what to tell the operator.
#: Subcode rows win over code rows; code ranges are handled in :func:`_lookup`.
ERROR_TABLE: dict[tuple[int, int | None], tuple[Kind, str]] = {
    (1, None): (Kind.TRANSIENT, "Graph API sedang bermasalah (kode 1); dicoba lagi otomatis."),
    (2, None): (Kind.TRANSIENT, "Layanan Meta sementara tidak tersedia (kode 2); dicoba lagi."),
    (4, None): (Kind.RATE, "Batas panggilan aplikasi Meta tercapai; pengiriman ditunda."),
    (17, None): (Kind.RATE, "Batas panggilan akun pengguna Meta tercapai; pengiriman ditunda."),
    (32, None): (Kind.RATE, "Batas panggilan Halaman tercapai; pengiriman ditunda."),
    (613, None): (Kind.RATE, "Terlalu banyak panggilan dalam waktu singkat; pengiriman ditunda."),
    (9, 2207042): (
        Kind.PUBLISH_LIMIT,
        "Kuota unggahan Instagram 24 jam sudah habis; publikasi ditunda sampai kuota pulih.",
    ),
    (190, None): (Kind.AUTH, "Token akses Meta tidak berlaku lagi. " + _RECONNECT),
    (190, 458): (Kind.AUTH, "Aplikasi OPD Publisher dihapus dari akun Facebook. " + _RECONNECT),
    (190, 459): (
        Kind.AUTH,
        "Akun Facebook terkena pemeriksaan keamanan (checkpoint). Masuk ke facebook.com, "
        "selesaikan pemeriksaannya, lalu sambungkan ulang Halaman di menu Kanal.",
    ),
    (190, 460): (
        Kind.AUTH,
        "Token tidak berlaku karena kata sandi akun Facebook diganti. " + _RECONNECT,
    ),
    (190, 463): (Kind.AUTH, "Token akses Meta sudah kedaluwarsa. " + _RECONNECT),
    (190, 464): (
        Kind.AUTH,
        "Akun Facebook belum dikonfirmasi. Konfirmasikan akun, lalu sambungkan ulang Halaman.",
    ),
    (190, 467): (Kind.AUTH, "Token akses Meta tidak valid (mungkin dicabut). " + _RECONNECT),
    (102, None): (Kind.AUTH, "Sesi Meta tidak berlaku lagi. " + _RECONNECT),
    (10, None): (Kind.PERMISSION, "Aplikasi Meta tidak punya izin untuk tindakan ini."),
    (100, None): (
        Kind.INVALID,
        "Meta menolak permintaan karena ada parameter yang tidak valid. Periksa isi publikasi "
        "dan pengaturan kanal, lalu kirim ulang.",
    ),
    (368, None): (
        Kind.INVALID,
        "Meta memblokir kiriman ini karena dianggap melanggar kebijakan atau penyalahgunaan. "
        "Periksa isinya di Meta Business Suite sebelum mencoba lagi.",
    ),
    (506, None): (
        Kind.INVALID,
        "Facebook menolak teks yang sama persis dengan kiriman sebelumnya di Halaman ini "
        "(duplikat). Periksa Halaman: bila kiriman itu sudah ada, tidak perlu dikirim ulang.",
    ),
    (9004, None): (
        Kind.MEDIA,
        "Instagram tidak dapat mengambil gambar dari URL publiknya. Pastikan "
        "PUBLISHER_PUBLIC_BASE_URL dapat dibuka dari internet (https, bukan localhost).",
    ),
    (9004, 2207052): (
        Kind.MEDIA,
        "Instagram tidak dapat mengambil gambar dari URL publiknya (2207052). Pastikan "
        "PUBLISHER_PUBLIC_BASE_URL dapat dibuka dari internet (https, bukan localhost) dan "
        "gambarnya tidak di balik login.",
    ),
    (36003, None): (
        Kind.MEDIA,
        "Rasio aspek gambar di luar batas Instagram (4:5 sampai 1,91:1). Ganti gambarnya.",
    ),
    (36001, None): (
        Kind.MEDIA,
        "Gambar terlalu besar untuk Instagram (maksimal 8 MB). Ganti dengan berkas lebih kecil.",
    ),
    (9007, None): (Kind.NOT_READY, "Kontainer Instagram belum selesai diproses."),
}

#: Subcodes that decide the class whatever the code is (Instagram reuses several codes).
SUBCODE_TABLE: dict[int, tuple[Kind, str]] = {
    2207042: ERROR_TABLE[(9, 2207042)],
    2207052: ERROR_TABLE[(9004, 2207052)],
    2207009: ERROR_TABLE[(36003, None)],
    2207004: ERROR_TABLE[(36001, None)],
    2207026: (
        Kind.MEDIA,
        "Format gambar tidak didukung Instagram (harus JPEG). Unggah ulang gambarnya.",
    ),
    2207027: (Kind.NOT_READY, "Kontainer Instagram belum selesai diproses."),
}

_PERMISSION_NAME = re.compile(
    r"\b(pages_[a-z_]+|instagram_[a-z_]+|business_management|publish_[a-z_]+|read_insights)\b"
)


@dataclass(frozen=True)
class GraphErrorInfo:
    """The fields of Graph's error envelope we use."""

    code: int | None
    subcode: int | None
    message: str
    type: str = ""
    is_transient: bool = False
    fbtrace_id: str = ""
    user_msg: str = ""

    @classmethod
    def from_result(cls, result: Any) -> GraphErrorInfo:
        """Read the ``{"error": {...}}`` envelope (or whatever the SDK handed over)."""
        error = result.get("error") if isinstance(result, dict) else None
        if not isinstance(error, dict):
            return cls(code=None, subcode=None, message=str(result)[:300])
        return cls(
            code=_int_or_none(error.get("code")),
            subcode=_int_or_none(error.get("error_subcode")),
            message=str(error.get("message") or ""),
            type=str(error.get("type") or ""),
            is_transient=bool(error.get("is_transient")),
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            user_msg=str(error.get("error_user_msg") or ""),
        )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _lookup(info: GraphErrorInfo) -> tuple[Kind, str] | None:
    if info.subcode is not None and info.subcode in SUBCODE_TABLE:
        return SUBCODE_TABLE[info.subcode]
    if info.code is None:
        return None
    if (info.code, info.subcode) in ERROR_TABLE:
        return ERROR_TABLE[(info.code, info.subcode)]
    if (info.code, None) in ERROR_TABLE:
        return ERROR_TABLE[(info.code, None)]
    if 200 <= info.code <= 299:
        return Kind.PERMISSION, "Aplikasi Meta tidak punya izin untuk tindakan ini."
    if 80000 <= info.code <= 80099:
        return Kind.RATE, "Batas panggilan Meta untuk akun bisnis ini tercapai; ditunda."
    return None


def classify(
    info: GraphErrorInfo, *, status: int | None, usage: Usage, write: bool
) -> ChannelError:
    """Turn one Graph error into the channel error the queue's retry policy understands."""
    detail = (
        f"graph code={info.code} subcode={info.subcode} type={info.type} http={status} "
        f"fbtrace_id={info.fbtrace_id}: {info.message}"
    )
    if info.code is None:  # not Graph's envelope: a proxy, a wrong URL, a broken answer
        if status == 429:
            return RateLimited("Meta meminta pengiriman diperlambat; ditunda.", detail=detail)
        if status is not None and 400 <= status < 500:
            return PermanentError(
                f"Jawaban HTTP {status} bukan dari Graph API. Periksa PUBLISHER_GRAPH_URL dan "
                "PUBLISHER_GRAPH_VERSION.",
                detail=detail,
            )
        return TransientError(
            "Jawaban Meta tidak dikenali; dicoba lagi otomatis.", detail=detail, uncertain=write
        )
    found = _lookup(info)
    if found is None:
        if info.is_transient or status is None or status >= 500:
            return TransientError(
                "Meta sedang bermasalah; dicoba lagi otomatis.", detail=detail, uncertain=write
            )
        return PermanentError(
            f"Meta menolak permintaan: {info.user_msg or info.message} (kode {info.code}). "
            "Periksa isi publikasi dan pengaturan kanal.",
            detail=detail,
        )
    kind, message = found
    if kind is Kind.TRANSIENT:
        return TransientError(message, detail=detail, uncertain=write)
    if kind is Kind.RATE:
        return RateLimited(message, retry_after=usage.regain_seconds(), detail=detail)
    if kind is Kind.PUBLISH_LIMIT:
        return PublishingLimitReached(message, retry_after=None, detail=detail)
    if kind is Kind.NOT_READY:
        return ContainerNotReady(message, detail=detail)
    if kind is Kind.AUTH:
        return AuthError(message, detail=detail)
    if kind is Kind.PERMISSION:
        names = sorted(set(_PERMISSION_NAME.findall(info.message)))
        if names:
            message = (
                f"Aplikasi Meta belum diberi izin {', '.join(names)}. Sambungkan ulang Halaman "
                "dan centang izin itu; publikasinya ditahan sampai itu dilakukan."
            )
        else:
            message += " Sambungkan ulang Halaman dengan izin yang lengkap (lihat docs/meta.md)."
        return AuthError(message, detail=detail)
    if kind is Kind.INVALID and info.user_msg:
        message = f"{message} Pesan Meta: {info.user_msg}"
    return PermanentError(message, detail=detail)


# --- the client -----------------------------------------------------------------------------


class GraphClient:
    """Graph calls with one access token (a Page token, usually). Use as a context manager."""

    def __init__(self, token: str, settings: Any) -> None:
        if not token:
            raise AuthError("Kanal ini belum punya token Meta. " + _RECONNECT)
        self.graph_url = str(settings.graph_url).rstrip("/")
        configure_sdk(self.graph_url)
        self._token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.hooks["response"].append(self._on_response)
        self.api = facebook.GraphAPI(timeout=float(settings.http_timeout), session=self.session)
        # The version whitelist of facebook-sdk 3.1 ends at 3.1; the attribute is plain text.
        self.api.version = api_version(str(settings.graph_version))
        self.last_status: int | None = None
        self.last_usage = Usage()
        self._object_id = ""

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self.session.close()

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_status = response.status_code
        self.last_usage = Usage.from_headers(response.headers)
        throttle.note(self.graph_url, self._object_id, self.last_usage)

    def _redact(self, text: str) -> str:
        return text.replace(self._token, "***")

    def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One Graph call; ``path`` is without the version (``"123/feed"``)."""
        write = method != "GET"
        self.last_status = None
        self._object_id = path.strip("/").split("/", 1)[0].split("?", 1)[0]
        try:
            result = self.api.request(
                f"{self.api.version}/{path.lstrip('/')}",
                args=dict(params or {}),
                post_args=dict(data) if data is not None else None,
                files=files,
                method=method,
            )
        except facebook.GraphAPIError as exc:
            info = GraphErrorInfo.from_result(exc.result)
            raise classify(
                info, status=self.last_status, usage=self.last_usage, write=write
            ) from None
        except KeyError:
            # facebook-sdk reads headers["content-type"]: an answer without one raises KeyError.
            raise TransientError(
                "Jawaban Meta tidak lengkap (tanpa Content-Type); dicoba lagi.",
                detail=f"{method} {path}: answer without Content-Type, http={self.last_status}",
                uncertain=write,
            ) from None
        except requests.RequestException as exc:
            raise TransientError(
                "Meta tidak dapat dihubungi atau tidak menjawab tepat waktu; dicoba lagi.",
                detail=self._redact(f"{method} {path}: {type(exc).__name__}: {exc}"),
                uncertain=write and not never_sent(exc),
            ) from None
        if self.last_status is not None and self.last_status >= 500:
            raise TransientError(
                "Meta sedang bermasalah; dicoba lagi otomatis.",
                detail=f"{method} {path}: http={self.last_status}",
                uncertain=write,
            )
        if not isinstance(result, dict):
            raise TransientError(
                "Jawaban Meta tidak dikenali; dicoba lagi.",
                detail=f"{method} {path}: answer is {type(result).__name__}",
                uncertain=write,
            )
        return result

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET ``path`` with query parameters."""
        return self.request("GET", path, params=params)

    def post(self, path: str, *, files: Any = None, **data: Any) -> dict[str, Any]:
        """POST ``path`` with form fields, after checking Meta has not asked us to wait."""
        object_id = path.strip("/").split("/", 1)[0]
        wait = throttle.wait_for(self.graph_url, object_id)
        if wait > 0:
            raise RateLimited(
                "Pemakaian API Meta mendekati batas; pengiriman ditunda sampai pulih.",
                retry_after=wait,
                detail=f"usage headers at the ceiling for {object_id}",
            )
        return self.request("POST", path, data=data, files=files)

    def paged(self, path: str, *, max_pages: int = 4, complete: bool = False,
              **params: Any) -> Iterator[dict[str, Any]]:
        """Items of an edge, newest first, following ``paging.cursors.after``. With
        ``complete``, running out of pages before the edge ends raises ReadIncomplete (a
        search that stops early must not pass for "not there")."""
        args = dict(params)
        for _ in range(max_pages):
            page = self.get(path, **args)
            yield from page.get("data") or []
            paging = page.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            args["after"] = after
        if complete:
            raise ReadIncomplete(
                "Daftar kiriman terlalu panjang untuk diperiksa sampai waktu pengiriman; "
                "dicek lagi nanti.",
                detail=f"GET {path}: more than {max_pages} pages",
            )
