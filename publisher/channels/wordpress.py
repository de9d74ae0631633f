"""``wordpress``: a post on an OPD's own WordPress site, over the REST API.

Authentication is an Application Password (WordPress ≥ 5.6) sent as HTTP Basic. Each post
carries the publication's fingerprint as the end of its slug
(``<item-slug>-pub-<publication id>-<content hash>``): WordPress keeps the slug with the post,
``GET /wp/v2/posts?slug=`` finds it exactly, and unlike post meta it needs no plugin to
register a field. So reconciliation after a crash asks for that slug before any resend. The
featured image is uploaded with the slug ``<fingerprint>-img`` and found the same way, so a
resend after a crash between the upload and the post does not upload it twice.

Error mapping (WordPress answers 401 for *any* bad credential, see shared/wordpress/README):
401/403 → AuthError (channel needs_reauth, publications held); 429 → RateLimited; 5xx,
connection errors and timeouts → TransientError (a timed-out write is ``uncertain``); other
4xx → PermanentError with WordPress's own message.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from ..fetch import fetch
from ..media_variants import local_variant, variant_url
from ..netguard import GuardError, OutboundError, check_url, never_sent, safe_session
from ..sanitize import clean_html
from ..timeutil import utcnow
from .base import (
    AuthError,
    Channel,
    ConfigError,
    Health,
    MediaView,
    Payload,
    PermanentError,
    RateLimited,
    Receipt,
    RenderContext,
    TransientError,
)

USER_AGENT = "opd-publisher-wordpress/1"
POST_STATUSES = ("publish", "draft", "pending", "private")
#: Statuses searched when reconciling (a post we made may have been moved to draft since).
FIND_STATUSES = "publish,future,draft,pending,private"
#: A due time further ahead than this is sent as a scheduled (``future``) post.
FUTURE_MARGIN = timedelta(seconds=60)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
_SLUG_CHARS = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class SiteCheck:
    """What connecting a site found out."""

    ok: bool
    detail: str
    field: str = "url"
    api_root: str = ""
    user: str = ""


def _slug_part(value: str, limit: int) -> str:
    slug = _SLUG_CHARS.sub("-", value.lower()).strip("-")
    return re.sub("-{2,}", "-", slug)[:limit].strip("-")


def post_slug(item_slug: str, fingerprint: str) -> str:
    """``<item slug>-<fingerprint>``, within WordPress's slug length and alphabet."""
    fp = _slug_part(fingerprint, 60)
    head = _slug_part(item_slug, 189 - len(fp))
    return f"{head}-{fp}" if head else fp


def _wp_message(response: requests.Response) -> tuple[str, str]:
    """WordPress's ``(code, message)`` from an error answer (or the body's start)."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200].strip()
    if isinstance(body, dict):
        message = str(body.get("message") or "")
        data = body.get("data")
        params = data.get("params") if isinstance(data, dict) else None
        if isinstance(params, dict) and params:
            message += " " + "; ".join(str(v) for v in params.values())
        return str(body.get("code") or ""), message.strip()
    return "", str(body)[:200]


class WordPressChannel(Channel):
    """A post on the OPD's WordPress site (REST API + Application Password)."""

    kind: ClassVar[str] = "wordpress"
    label: ClassVar[str] = "Situs WordPress OPD"
    supports_images = True
    max_images = 1
    guards_writes = True
    required_config = ("url", "username", "app_password")
    secret_fields = ("app_password",)

    def __init__(self, info: Any, settings: Any) -> None:
        super().__init__(info, settings)
        self._local = threading.local()
        self._terms: dict[tuple[str, str], int] = {}
        self._terms_lock = threading.Lock()

    # --- configuration ---------------------------------------------------------------------

    @classmethod
    def validate_config(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Check and normalise the fields, offline (it runs inside the services' transaction).

        Connecting to the site is :meth:`connect`, called before that transaction opens.
        Raises ConfigError naming the field.
        """
        config, secrets = super().validate_config(config, secrets, settings)
        url = str(config.get("url", "")).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError("url", "harus alamat situs lengkap, mis. https://dinas.go.id")
        if parts.query or parts.fragment:
            raise ConfigError("url", "alamat situs tanpa ?… atau #…")
        status = str(config.get("post_status") or "publish")
        if status not in POST_STATUSES:
            raise ConfigError("post_status", f"harus salah satu dari {', '.join(POST_STATUSES)}")
        category_map = config.get("category_map") or {}
        if not isinstance(category_map, dict):
            raise ConfigError("category_map", "harus pasangan kategori KIP → kategori WordPress")
        tags = config.get("tags") or []
        if isinstance(tags, str):
            tags = [t.strip() for t in tags.split(",") if t.strip()]
        if not isinstance(tags, list):
            raise ConfigError("tags", "harus daftar tag")
        api_root = str(config.get("api_root") or "")
        if api_root and not api_root.startswith(url + "/"):
            api_root = ""  # the site moved: fall back to <url>/wp-json/
        clean = {
            **config, "url": url, "username": str(config.get("username", "")).strip(),
            "post_status": status, "category_map": {str(k): v for k, v in category_map.items()},
            "tags": tags, "api_root": api_root,
            "image_in_content": bool(config.get("image_in_content", True)),
        }
        return clean, {"app_password": str(secrets.get("app_password", "")).strip()}

    @classmethod
    def connect(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate, then connect to the site: ``/wp-json/`` and ``users/me`` must answer.

        Makes network calls (through the SSRF guard): call it with no DB session open, then
        pass the returned config (it carries the discovered ``api_root``) to the services.
        Raises ConfigError naming the field that is wrong and what to do.
        """
        config, secrets = cls.validate_config(config, secrets, settings)
        result = connect_site(config["url"], config["username"], secrets["app_password"],
                              settings)
        if not result.ok:
            raise ConfigError(result.field, result.detail)
        return {**config, "api_root": result.api_root}, secrets

    # --- HTTP --------------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = safe_session(self.settings)
            session.headers["User-Agent"] = USER_AGENT
            session.auth = (
                str(self.info.config.get("username", "")),
                str(self.info.secrets.get("app_password", "")),
            )
            self._local.session = session
        return session

    def _api_root(self) -> str:
        root = str(self.info.config.get("api_root") or "")
        return root or str(self.info.config["url"]).rstrip("/") + "/wp-json/"

    def _request(self, method: str, route: str, *, write: bool = False,
                 params: dict[str, Any] | None = None, timeout: float | None = None,
                 **kwargs: Any) -> Any:
        """Call ``/wp/v2/<route>`` and return the decoded JSON; raise a typed ChannelError."""
        url, query = _endpoint(self._api_root(), route)
        query.update(params or {})
        limit = timeout or float(self.settings.http_timeout)
        try:
            response = self._session().request(method, url, params=query, timeout=limit,
                                               allow_redirects=False, **kwargs)
        except GuardError as exc:
            raise PermanentError(f"Alamat situs WordPress ditolak: {exc.message}") from None
        except requests.RequestException as exc:
            # A write whose request went out (a reset, an answer that never came) may have
            # created the post: the next attempt finds it by its slug before sending again.
            uncertain = write and not never_sent(exc)
            if isinstance(exc, requests.Timeout):
                message = "Situs WordPress tidak menjawab tepat waktu (timed out)"
            else:
                message = "Situs WordPress tidak dapat dihubungi (connection failed)"
            if uncertain:
                message += ("; tulisan mungkin sudah dibuat, akan diperiksa dulu sebelum "
                            "dikirim ulang")
            raise TransientError(message, detail=type(exc).__name__, uncertain=uncertain) from None
        return _decode(response, route, write=write)

    # --- the contract ------------------------------------------------------------------------

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """Title, sanitised HTML body (``posts/wordpress.txt.j2``), excerpt, slug, image."""
        item = ctx.item
        html = clean_html(renderer.render(self.kind, ctx))
        fingerprint = self.fingerprint(ctx)
        categories = self.info.config.get("category_map", {}).get(item.category)
        data: dict[str, Any] = {
            "slug": post_slug(item.slug or item.title, fingerprint),
            "excerpt": item.summary,
            "status": self.info.config.get("post_status") or "publish",
            "date_gmt": ctx.due_at.astimezone(UTC).isoformat() if ctx.due_at else None,
            "categories": [categories] if isinstance(categories, str | int) else
            list(categories or []),
            "tags": list(self.info.config.get("tags") or []),
        }
        return self.base_payload(ctx, title=item.title, html=html, text=item.summary,
                                 link=item.site_url, images=list(ctx.media[:1]), data=data)

    def publish(self, payload: Payload) -> Receipt:
        """Upload the featured image (once), then create the post; return id and permalink."""
        media_id = self._featured_media(payload) if payload.images else None
        body: dict[str, Any] = {
            "title": payload.title,
            "content": payload.html,
            "excerpt": payload.data.get("excerpt", ""),
            "slug": payload.data["slug"],
            "status": payload.data.get("status") or "publish",
        }
        due = _parse_time(payload.data.get("date_gmt"))
        if due is not None and due > utcnow() + FUTURE_MARGIN and body["status"] == "publish":
            body["status"] = "future"
            body["date_gmt"] = due.strftime("%Y-%m-%dT%H:%M:%S")
        if media_id is not None:
            body["featured_media"] = media_id[0]
            if self.info.config.get("image_in_content", True):
                body["content"] = _figure(media_id[1], payload.images[0].alt_text) + body["content"]
        categories = self._term_ids("categories", payload.data.get("categories") or [])
        if categories:
            body["categories"] = categories
        tags = self._term_ids("tags", payload.data.get("tags") or [])
        if tags:
            body["tags"] = tags
        payload.before_write()
        post = self._request("POST", "posts", write=True, json=body)
        return _receipt(post)

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """The post whose slug carries this payload's fingerprint, in any live status."""
        posts = self._request("GET", "posts", params={
            "slug": payload.data["slug"], "status": FIND_STATUSES, "context": "edit",
        })
        if isinstance(posts, list) and posts:
            return _receipt(posts[0])
        return None

    def check(self) -> Health:
        """Connect as when the site was added: ``/wp-json/`` and ``users/me``."""
        result = connect_site(str(self.info.config.get("url", "")),
                              str(self.info.config.get("username", "")),
                              str(self.info.secrets.get("app_password", "")), self.settings)
        return Health(ok=result.ok, detail=result.detail)

    # --- helpers -----------------------------------------------------------------------------

    def _featured_media(self, payload: Payload) -> tuple[int, str]:
        image = payload.images[0]
        slug = _slug_part(payload.fingerprint, 60) + "-img"
        found = self._request("GET", "media", params={"slug": slug, "context": "edit"})
        if isinstance(found, list) and found:
            return int(found[0]["id"]), str(found[0].get("source_url") or "")
        content = self._website_jpeg(image)
        media = self._request(
            "POST", "media", write=True,
            timeout=float(self.settings.http_timeout) * 4,
            files={"file": (f"{slug}.jpg", content, "image/jpeg")},
            data={"alt_text": image.alt_text, "slug": slug, "title": payload.title[:200]},
        )
        return int(media["id"]), str(media.get("source_url") or "")

    def _website_jpeg(self, image: MediaView) -> bytes:
        """The ``website`` variant (JPEG, at most 1600 px) of a stored image; from the file on
        this machine, else from its public variant URL (through the SSRF guard)."""
        local = local_variant(image, "website")
        if local is not None:
            return local
        try:
            got = fetch(variant_url(image.public_url, "website"), self.settings,
                        max_bytes=MAX_IMAGE_BYTES, accept="image/*")
            return got.content
        except OutboundError as exc:
            raise TransientError(f"Gambar #{image.id} tidak dapat diambil: {exc.message}"
                                 ) from None

    def _term_ids(self, taxonomy: str, wanted: list[Any]) -> list[int]:
        """Category/tag ids for ids or names; a missing name is created (needs the right)."""
        ids: list[int] = []
        for value in wanted:
            if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
                ids.append(int(value))
                continue
            name = str(value).strip()
            if not name:
                continue
            key = (taxonomy, name.lower())
            with self._terms_lock:
                cached = self._terms.get(key)
            if cached is None:
                cached = self._find_or_create_term(taxonomy, name)
                with self._terms_lock:
                    self._terms[key] = cached
            ids.append(cached)
        return ids

    def _find_or_create_term(self, taxonomy: str, name: str) -> int:
        found = self._request("GET", taxonomy, params={"search": name, "per_page": 100})
        for term in found if isinstance(found, list) else []:
            if str(term.get("name", "")).strip().lower() == name.lower():
                return int(term["id"])
        created = self._request("POST", taxonomy, json={"name": name})
        return int(created["id"])


# --- module helpers ---------------------------------------------------------------------------


def _endpoint(api_root: str, route: str) -> tuple[str, dict[str, Any]]:
    """URL and query for ``wp/v2/<route>`` under a ``/wp-json/`` or ``?rest_route=`` root."""
    if "rest_route=" in api_root:
        base = api_root.split("?", 1)[0]
        return base, {"rest_route": f"/wp/v2/{route}"}
    return api_root.rstrip("/") + f"/wp/v2/{route}", {}


def _decode(response: requests.Response, route: str, *, write: bool = False) -> Any:
    status = response.status_code
    if 200 <= status < 300:
        try:
            return response.json()
        except ValueError:
            raise PermanentError(
                "Jawaban situs bukan JSON REST WordPress; periksa alamat situs (not a WordPress "
                "REST answer)", detail=response.text[:200]) from None
    code, message = _wp_message(response)
    detail = f"{route}: HTTP {status} {code}".strip()
    if status in (401, 403):
        raise AuthError(
            "WordPress menolak kredensial: nama pengguna atau application password salah, "
            "dicabut, atau tidak berhak menerbitkan (credentials rejected). Hubungkan ulang "
            f"saluran ini. Pesan WordPress: {message}", detail=detail)
    if status == 429:
        retry = response.headers.get("Retry-After", "")
        raise RateLimited("WordPress meminta menunggu (HTTP 429)",
                          retry_after=float(retry) if retry.isdigit() else None, detail=detail)
    if status >= 500 and code != "rest_upload_sideload_error":
        # a write may have been carried out before the error (a plugin failing afterwards)
        raise TransientError(f"Situs WordPress sedang bermasalah (HTTP {status}): {message}",
                             detail=detail, uncertain=write)
    if 300 <= status < 400:
        raise PermanentError(
            f"Situs WordPress mengalihkan ke {response.headers.get('Location', '?')} (HTTP "
            f"{status}); perbarui alamat situs pada saluran ini", detail=detail)
    raise PermanentError(f"WordPress menolak kiriman (HTTP {status}): {message}", detail=detail)


def _receipt(post: dict[str, Any]) -> Receipt:
    published = _parse_time(post.get("date_gmt"))
    return Receipt(remote_id=str(post["id"]), url=str(post.get("link") or ""),
                   published_at=published)


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _figure(src: str, alt: str) -> str:
    if not src:
        return ""
    return clean_html(f'<figure><img src="{_attr(src)}" alt="{_attr(alt)}"></figure>')


def _attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


# --- connecting a site ------------------------------------------------------------------------


def connect_site(url: str, username: str, app_password: str, settings: Any) -> SiteCheck:
    """Check a WordPress site and credentials; say in words what is wrong.

    1. the URL passes the SSRF guard and answers; 2. ``/wp-json/`` (or ``?rest_route=/``) is
    the WordPress REST index with ``wp/v2``; 3. ``users/me`` accepts the application password
    and the user may publish posts and upload files.
    """
    url = url.strip().rstrip("/")
    try:
        check_url(url, settings)
    except GuardError as exc:
        return SiteCheck(False, exc.message)
    session = safe_session(settings)
    session.headers["User-Agent"] = USER_AGENT
    timeout = float(getattr(settings, "http_timeout", 15.0))
    try:
        root, index, problem = _find_api_root(session, url, timeout)
        if problem:
            return SiteCheck(False, problem)
        if "wp/v2" not in (index.get("namespaces") or []):
            return SiteCheck(False, "REST API WordPress ada, tetapi rute wp/v2 dimatikan (mis. "
                                    "oleh plugin keamanan); izinkan /wp-json/wp/v2/ untuk "
                                    "pengguna ini (wp/v2 routes disabled)")
        if not index.get("authentication"):
            return SiteCheck(False, "Application Password tidak aktif di situs ini: WordPress "
                                    "hanya mengizinkannya lewat HTTPS (atau WP_ENVIRONMENT_TYPE "
                                    "'local'), atau dimatikan plugin (application passwords "
                                    "unavailable)", field="app_password")
        if not username or not app_password:
            return SiteCheck(False, "nama pengguna dan application password wajib diisi",
                             field="app_password" if username else "username")
        me_url, query = _endpoint(root, "users/me")
        me = session.get(me_url, params={**query, "context": "edit"},
                         auth=(username, app_password), timeout=timeout, allow_redirects=False)
    except GuardError as exc:
        return SiteCheck(False, exc.message)
    except requests.RequestException as exc:
        return SiteCheck(False, f"Situs tidak dapat dihubungi; periksa alamatnya (cannot "
                                f"connect: {type(exc).__name__})")
    finally:
        session.close()
    if me.status_code in (401, 403):
        return SiteCheck(False, "Nama pengguna atau application password salah, atau sudah "
                                "dicabut. Buat application password baru di Profil pengguna "
                                "WordPress (bad credentials)", field="app_password")
    if me.status_code != 200:
        _code, message = _wp_message(me)
        return SiteCheck(False, f"users/me menjawab HTTP {me.status_code}: {message}")
    try:
        user = me.json()
    except ValueError:
        return SiteCheck(False, "users/me tidak menjawab JSON (not a WordPress answer)")
    caps = user.get("capabilities") or {}
    missing = [c for c in ("publish_posts", "upload_files") if not caps.get(c)]
    if missing:
        return SiteCheck(False, f"Pengguna {user.get('name', username)} tidak berhak "
                                f"{', '.join(missing)}; beri peran Author atau Editor "
                                "(user lacks the capability)", field="username")
    return SiteCheck(True, f"Terhubung ke {index.get('name') or url} sebagai "
                           f"{user.get('name') or username}", api_root=root,
                     user=str(user.get("name") or username))


def _find_api_root(session: requests.Session, url: str,
                   timeout: float) -> tuple[str, dict[str, Any], str]:
    """``(api_root, index, problem)``: try ``/wp-json/``, then ``/?rest_route=/``."""
    last_problem = ""
    candidates = ((url + "/wp-json/", None, url + "/wp-json/"),
                  (url + "/", {"rest_route": "/"}, url + "/?rest_route=/"))
    for get_url, params, root in candidates:
        response = session.get(get_url, params=params, timeout=timeout, allow_redirects=False)
        if response.status_code in (401, 403):
            code, message = _wp_message(response)
            why = f"{code or response.status_code}: {message}"
            return "", {}, (f"REST API WordPress dimatikan untuk umum ({why}); izinkan REST API "
                            "agar saluran bisa menerbitkan (REST API disabled)")
        if 300 <= response.status_code < 400:
            last_problem = (f"Alamat ini mengalihkan ke {response.headers.get('Location', '?')}; "
                            "masukkan alamat situs yang dituju (redirected)")
            continue
        try:
            index = response.json()
        except ValueError:
            last_problem = ("Alamat ini bukan situs WordPress, atau REST API-nya dimatikan "
                            f"(no WordPress REST index at {root}, HTTP {response.status_code})")
            continue
        if response.status_code == 200 and isinstance(index, dict) and "namespaces" in index:
            return root, index, ""
        last_problem = ("Alamat ini bukan situs WordPress, atau REST API-nya dimatikan "
                        f"(HTTP {response.status_code})")
    return "", {}, last_problem
