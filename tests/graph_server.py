"""A Meta Graph API test server on 127.0.0.1, speaking the API as documented (meta-graph.md).

It is a real HTTP peer for the Facebook and Instagram channels: ``/vNN.0/`` paths, bearer
tokens, the JSON error envelope, usage headers, Pages and their posts and photos, Instagram
containers whose ``status_code`` moves IN_PROGRESS → FINISHED after some polls, a rolling
publishing quota, token expiry, and failures injected on demand. Like Meta, it downloads each
``image_url`` it is given (only from 127.0.0.1: test traffic stays on loopback) and refuses
anything that is not a JPEG with error 9004 / 2207052.

:class:`ImageServer` serves test images from another loopback port.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from PIL import Image

from .faults import FaultSchedule

GRAPH_TIME = "%Y-%m-%dT%H:%M:%S+0000"

# --- test images ----------------------------------------------------------------------------


class QuietServer(ThreadingHTTPServer):
    """No tracebacks when a client gave up on an answer (timeouts, dropped connections)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ImageServer:
    """Serves ``{path: (bytes, content_type)}`` on 127.0.0.1; counts requests per path."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str | None]] = {}
        self.hits: dict[str, int] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                owner.hits[path] = owner.hits.get(path, 0) + 1
                if path not in owner.files:
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    self.wfile.write(b"<html>not found</html>")
                    return
                body, ctype = owner.files[path]
                self.send_response(200)
                if ctype:
                    self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def add(self, path: str, body: bytes, content_type: str | None = "image/jpeg") -> str:
        """Serve ``body`` at ``path``; returns its URL."""
        self.files[path] = (body, content_type)
        return self.base_url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- the Graph state ------------------------------------------------------------------------


class GraphFailure(Exception):
    """Raised inside the server to answer with Graph's error envelope."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        status: int = 400,
        error_type: str = "OAuthException",
        is_transient: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.subcode = subcode
        self.status = status
        self.error_type = error_type
        self.is_transient = is_transient
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient:
            error["is_transient"] = True
        return {"error": error}


@dataclass
class Injected:
    """A failure answered for matching requests, ``times`` times.

    ``mode``: ``error`` (Graph error envelope), ``no_content_type`` (200 without the header),
    ``html`` (an HTML page with ``status``, as from a proxy), ``drop`` (close the connection
    without an answer), ``delay`` (sleep ``delay`` seconds, then answer normally). With
    ``after=True`` the request is carried out first, then the failure is answered (the write
    went through).
    """

    method: str | None
    pattern: re.Pattern[str]
    mode: str = "error"
    code: int = 2
    subcode: int | None = None
    status: int = 400
    message: str = ""
    is_transient: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    after: bool = False
    delay: float = 0.0


@dataclass
class Token:
    kind: str  # USER or PAGE
    scopes: list[str]
    page_id: str | None = None
    user_id: str = "1000"
    expires_at: int = 0
    data_access_expires_at: int = 0
    invalid_subcode: int | None = None  # set: the token no longer works (190 + subcode)


class GraphState:
    """Everything the fake Graph knows; tests arrange and inspect it directly."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self._ids = itertools.count(17_000_000_000)
        self.tokens: dict[str, Token] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.igs: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.photos: dict[str, dict[str, Any]] = {}
        self.containers: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.failures: list[Injected] = []
        self.log: list[tuple[str, str]] = []
        self.versions: set[str] = set()
        #: Requests that carried an access token in the URL or body (the client must not).
        self.tokens_in_url = 0
        #: IN_PROGRESS answers a new container gives before FINISHED.
        self.ready_after = 1
        #: Final statuses forced on the next containers created (e.g. ["ERROR"]).
        self.next_container_outcomes: list[str] = []
        self.app_usage = {"call_count": 8, "total_time": 4, "total_cputime": 3}
        #: Headers added to every answer (e.g. X-Business-Use-Case-Usage near the limit).
        self.extra_headers: dict[str, str] = {}
        #: A seeded fault schedule consulted on every request not already failed on purpose.
        self.schedule: FaultSchedule | None = None

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    def new_id(self) -> str:
        return str(next(self._ids))

    # arranging

    def add_page(
        self,
        page_id: str,
        name: str,
        *,
        ig: tuple[str, str] | None = None,
        tasks: tuple[str, ...] = ("ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"),
        scopes: tuple[str, ...] | None = None,
        quota_total: int = 25,
    ) -> str:
        """A Page (with a linked Instagram account); returns its Page token."""
        token = f"PAGE-{page_id}-{self.new_id()}"
        self.pages[page_id] = {"id": page_id, "name": name, "tasks": list(tasks), "ig": None,
                               "token": token}
        if ig:
            self.pages[page_id]["ig"] = ig[0]
            self.igs[ig[0]] = {"id": ig[0], "username": ig[1], "page_id": page_id,
                               "quota_total": quota_total, "quota_duration": 86400,
                               "publishes": []}
        self.tokens[token] = Token(
            kind="PAGE", page_id=page_id,
            scopes=list(scopes if scopes is not None else ALL_SCOPES),
        )
        return token

    def add_user_token(
        self, token: str, *, scopes: tuple[str, ...] | None = None, expires_in: float = 0
    ) -> str:
        """A user token managing every Page; ``expires_in`` seconds (0: never)."""
        expiry = int((self.now() + timedelta(seconds=expires_in)).timestamp()) if expires_in else 0
        self.tokens[token] = Token(
            kind="USER", scopes=list(scopes if scopes is not None else ALL_SCOPES),
            expires_at=expiry,
        )
        return token

    def invalidate(self, token: str, subcode: int = 463) -> None:
        """Make ``token`` fail with code 190 and ``subcode`` (463 expired, 460 password...)."""
        self.tokens[token].invalid_subcode = subcode

    def fail(
        self,
        pattern: str,
        *,
        method: str | None = None,
        mode: str = "error",
        code: int = 2,
        subcode: int | None = None,
        status: int = 400,
        message: str = "",
        is_transient: bool = False,
        headers: dict[str, str] | None = None,
        times: int = 1,
        after: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Inject a failure for requests whose path (without the version) matches ``pattern``."""
        self.failures.append(Injected(
            method=method, pattern=re.compile(pattern), mode=mode, code=code, subcode=subcode,
            status=status, message=message or f"(#{code}) injected failure",
            is_transient=is_transient, headers=headers or {}, times=times, after=after,
            delay=delay,
        ))

    def page_posts(self, page_id: str) -> list[dict[str, Any]]:
        return [p for p in self.posts.values() if p["page"] == page_id]

    def ig_media(self, ig_id: str) -> list[dict[str, Any]]:
        return [m for m in self.media.values() if m["ig"] == ig_id]

    def calls(self, method: str, pattern: str) -> int:
        rx = re.compile(pattern)
        return sum(1 for m, p in self.log if m == method and rx.search(p))


ALL_SCOPES = (
    "pages_show_list", "pages_read_engagement", "pages_manage_posts", "instagram_basic",
    "instagram_content_publish", "business_management",
)


# --- the server -----------------------------------------------------------------------------


class GraphServer:
    """The HTTP front of a :class:`GraphState` on 127.0.0.1 (random port)."""

    def __init__(self) -> None:
        self.state = GraphState()
        state = self.state

        class Handler(_GraphHandler):
            graph = state

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class _Drop(Exception):
    """Close the connection without answering."""


class _GraphHandler(BaseHTTPRequestHandler):
    graph: GraphState
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # plumbing

    def _params(self, method: str) -> dict[str, Any]:
        split = urlsplit(self.path)
        params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type") or ""
        if method != "GET" and raw:
            if ctype.startswith("multipart/form-data"):
                msg = message_from_bytes(
                    b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw, policy=HTTP
                )
                for part in msg.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True)
                    if part.get_filename():
                        params[str(name)] = {"filename": part.get_filename(), "data": payload,
                                             "content_type": part.get_content_type()}
                    else:
                        params[str(name)] = payload.decode() if isinstance(payload, bytes) else ""
            else:
                params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        return params

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              content_type: str | None = "application/json; charset=UTF-8") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Usage", json.dumps(self.graph.app_usage))
        for name, value in self.graph.extra_headers.items():
            self.send_header(name, value)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        graph = self.graph
        match = re.match(r"^/(v\d+\.\d+)/(.*)$", urlsplit(self.path).path)
        params = self._params(method)
        if not match:
            self._send(400, GraphFailure(2500, "Unknown path components: missing version").body())
            return
        version, path = match.group(1), match.group(2).strip("/")
        with graph.lock:
            graph.versions.add(version)
            graph.log.append((method, path))
            if "access_token" in params:
                graph.tokens_in_url += 1
            injected = self._injected(method, path)
            if injected is None and graph.schedule is not None:
                injected = _scheduled(graph.schedule, method, path)
        if injected and injected.mode == "delay":
            time.sleep(injected.delay)  # then answer normally (a client may have given up)
            injected = None
        try:
            if injected and not injected.after:
                self._answer_injected(injected)
                return
            with graph.lock:
                token = self._auth(params)
                result = _route(graph, method, path, params, token)
            if injected:
                self._answer_injected(injected, result)
                return
            self._send(200, result)
        except GraphFailure as failure:
            self._send(failure.status, failure.body(), failure.headers)
        except _Drop:
            self.close_connection = True
            self.connection.shutdown(2)

    def _injected(self, method: str, path: str) -> Injected | None:
        for failure in self.graph.failures:
            if failure.times > 0 and (failure.method in (None, method)) and \
                    failure.pattern.search(path):
                failure.times -= 1
                return failure
        return None

    def _answer_injected(self, inj: Injected, result: Any = None) -> None:
        if inj.mode == "drop":
            raise _Drop
        elif inj.mode == "no_content_type":
            self._send(200, {"id": "0"}, content_type=None)
        elif inj.mode == "html":
            self._send(inj.status, b"<html><body>Bad Gateway</body></html>",
                       content_type="text/html")
        else:
            raise GraphFailure(inj.code, inj.message, subcode=inj.subcode, status=inj.status,
                               is_transient=inj.is_transient, headers=inj.headers)

    def _auth(self, params: dict[str, Any]) -> Token:
        header = self.headers.get("Authorization") or ""
        value = header[7:] if header.startswith("Bearer ") else str(params.get("access_token", ""))
        if not value:
            raise GraphFailure(2500, "An active access token must be used to query information "
                                     "about the current user.")
        token = self.graph.tokens.get(value)
        if token is None:
            raise GraphFailure(190, "Invalid OAuth access token - Cannot parse access token")
        if token.invalid_subcode is not None or (
            token.expires_at and token.expires_at < self.graph.now().timestamp()
        ):
            subcode = token.invalid_subcode or 463
            raise GraphFailure(190, "Error validating access token: Session has expired",
                               subcode=subcode, status=400)
        return token


def _scheduled(schedule: FaultSchedule, method: str, path: str) -> Injected | None:
    """The fault the schedule picks for this request, as Meta would answer it."""
    action = schedule.decide(write=method != "GET")
    anything = re.compile(".*")
    if action == "error":
        return Injected(method, anything, code=2, status=503, is_transient=True,
                        message="(#2) Service temporarily unavailable")
    if action == "lost":
        return Injected(method, anything, mode="drop", after=True)
    if action == "drop":
        return Injected(method, anything, mode="drop")
    if action == "slow":
        return Injected(method, anything, mode="delay", delay=schedule.slow_seconds)
    if action == "rate":  # Page rate limit, with Meta's estimate of when access returns
        page = path.split("/", 1)[0]
        usage = {page: [{"type": "pages", "call_count": 100, "total_cputime": 40,
                         "total_time": 40, "estimated_time_to_regain_access": 0.01}]}
        return Injected(method, anything, code=32, status=400,
                        message="(#32) Page request limit reached",
                        headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    return None


# --- routes ---------------------------------------------------------------------------------


def _route(g: GraphState, method: str, path: str, p: dict[str, Any], token: Token) -> Any:
    parts = path.split("/")
    if method == "GET" and path == "debug_token":
        return _debug_token(g, str(p.get("input_token", "")))
    if parts[0] == "me":
        if token.kind == "PAGE":
            parts[0] = str(token.page_id)
        elif len(parts) == 1:
            return {"id": token.user_id, "name": "Admin Diskominfo"}
        elif parts[1] == "accounts" and method == "GET":
            return _paged(g, _accounts(g), p)
    if len(parts) == 2 and parts[1] == "accounts":
        raise GraphFailure(100, "(#100) Tried accessing nonexisting field (accounts) on node "
                                "type (Page)", error_type="GraphMethodException")
    obj = parts[0]
    if len(parts) == 1 and method == "GET":
        return _get_object(g, obj)
    edge = parts[1] if len(parts) > 1 else ""
    if obj in g.pages:
        _own(token, obj)
        if edge == "feed" and method == "POST":
            return _page_feed(g, obj, p, token)
        if edge == "photos" and method == "POST":
            return _page_photo(g, obj, p, token)
        if edge == "published_posts" and method == "GET":
            posts = sorted(g.page_posts(obj), key=lambda x: x["seq"], reverse=True)
            return _paged(g, [_post_fields(x) for x in posts], p)
    if obj in g.igs:
        _own(token, g.igs[obj]["page_id"])
        if edge == "media" and method == "POST":
            return _ig_container(g, obj, p, token)
        if edge == "media" and method == "GET":
            media = sorted(g.ig_media(obj), key=lambda x: x["seq"], reverse=True)
            return _paged(g, [_media_fields(x) for x in media], p)
        if edge == "media_publish" and method == "POST":
            return _ig_publish(g, obj, p, token)
        if edge == "content_publishing_limit" and method == "GET":
            ig = g.igs[obj]
            return {"data": [{"quota_usage": _quota_usage(g, ig),
                              "config": {"quota_total": ig["quota_total"],
                                         "quota_duration": ig["quota_duration"]}}]}
    raise GraphFailure(100, f"(#100) Unsupported {method.lower()} request. Object with ID "
                            f"'{obj}' does not exist or does not support this operation",
                       error_type="GraphMethodException")


def _own(token: Token, page_id: str) -> None:
    if token.kind == "PAGE" and token.page_id != page_id:
        raise GraphFailure(200, "(#200) The page token does not belong to this Page",
                           error_type="OAuthException")


def _need(token: Token, scope: str, code: int = 200) -> None:
    if scope not in token.scopes:
        raise GraphFailure(code, f"(#{code}) Requires {scope} permission to manage the object")


def _debug_token(g: GraphState, value: str) -> dict[str, Any]:
    token = g.tokens.get(value)
    if token is None:
        return {"data": {"is_valid": False, "error": {"code": 190,
                                                      "message": "Invalid OAuth access token."},
                         "scopes": []}}
    data: dict[str, Any] = {
        "app_id": "555", "type": token.kind, "application": "OPD Publisher",
        "expires_at": token.expires_at, "data_access_expires_at": token.data_access_expires_at,
        "is_valid": token.invalid_subcode is None and not (
            token.expires_at and token.expires_at < g.now().timestamp()),
        "scopes": token.scopes, "user_id": token.user_id,
    }
    if token.page_id:
        data["profile_id"] = token.page_id
    if not data["is_valid"]:
        data["error"] = {"code": 190, "subcode": token.invalid_subcode or 463,
                         "message": "Session has expired or was invalidated."}
    return {"data": data}


def _accounts(g: GraphState) -> list[dict[str, Any]]:
    out = []
    for page in g.pages.values():
        row: dict[str, Any] = {"id": page["id"], "name": page["name"],
                               "access_token": page["token"], "tasks": page["tasks"]}
        if page["ig"]:
            row["instagram_business_account"] = {
                "id": page["ig"], "username": g.igs[page["ig"]]["username"]}
        out.append(row)
    return out


def _paged(g: GraphState, rows: list[dict[str, Any]], p: dict[str, Any]) -> dict[str, Any]:
    limit = int(p.get("limit") or 25)
    start = int(p.get("after") or 0)
    chunk = rows[start:start + limit]
    answer: dict[str, Any] = {"data": chunk}
    if start + limit < len(rows):
        after = str(start + limit)
        answer["paging"] = {"cursors": {"before": str(start), "after": after},
                            "next": f"https://graph.example/next?after={after}"}
    return answer


def _fetch_image(url: str) -> bytes:
    """Download like Meta does; only loopback URLs are fetched (test traffic stays local)."""
    fail = GraphFailure(9004, "The media could not be fetched from this uri: " + url,
                        subcode=2207052, error_type="OAuthException")
    host = urlsplit(url).hostname or ""
    if host != "127.0.0.1":
        raise fail
    try:
        response = requests.get(url, timeout=5)
    except requests.RequestException:
        raise fail from None
    ctype = response.headers.get("Content-Type", "").split(";")[0]
    if response.status_code != 200 or ctype != "image/jpeg" or \
            not response.content.startswith(b"\xff\xd8\xff"):
        raise fail
    return response.content


def _page_feed(g: GraphState, page: str, p: dict[str, Any], token: Token) -> dict[str, Any]:
    _need(token, "pages_manage_posts")
    attached = [json.loads(v)["media_fbid"] for k, v in sorted(p.items())
                if k.startswith("attached_media[")]
    for fbid in attached:
        photo = g.photos.get(fbid)
        if photo is None or photo["page"] != page or photo["published"]:
            raise GraphFailure(100, f"(#100) attached_media: {fbid} is not an unpublished photo "
                                    "of this Page", subcode=1366051)
        photo["published"] = True
    if not p.get("message") and not p.get("link") and not attached:
        raise GraphFailure(100, "(#100) Missing message or attachment")
    return {"id": _new_post(g, page, str(p.get("message", "")), link=p.get("link"),
                            photos=attached)}


def _new_post(g: GraphState, page: str, message: str, *, link: Any = None,
              photos: list[str] | None = None) -> str:
    post_id = f"{page}_{g.new_id()}"
    g.posts[post_id] = {"id": post_id, "page": page, "message": message, "link": link,
                        "photos": photos or [], "created": g.now(), "seq": len(g.posts)}
    return post_id


def _page_photo(g: GraphState, page: str, p: dict[str, Any], token: Token) -> dict[str, Any]:
    _need(token, "pages_manage_posts")
    source = p.get("source")
    if isinstance(source, dict):
        data = source["data"]
        if not data.startswith(b"\xff\xd8\xff") and not data.startswith(b"\x89PNG"):
            raise GraphFailure(324, "(#324) Requires upload file", error_type="OAuthException")
    elif p.get("url"):
        data = _fetch_image(str(p["url"]))
    else:
        raise GraphFailure(324, "(#324) Requires upload file")
    photo_id = g.new_id()
    published = str(p.get("published", "true")).lower() != "false"
    with Image.open(io.BytesIO(data)) as im:
        size = im.size
    g.photos[photo_id] = {"id": photo_id, "page": page, "published": published, "bytes": len(data),
                          "size": size, "alt_text": p.get("alt_text_custom")}
    answer = {"id": photo_id}
    if published:
        answer["post_id"] = _new_post(g, page, str(p.get("caption", "")), photos=[photo_id])
    return answer


def _post_fields(post: dict[str, Any]) -> dict[str, Any]:
    return {"id": post["id"], "message": post["message"],
            "created_time": post["created"].strftime(GRAPH_TIME),
            "permalink_url": f"https://www.facebook.com/{post['id'].replace('_', '/posts/')}"}


def _media_fields(media: dict[str, Any]) -> dict[str, Any]:
    return {"id": media["id"], "caption": media["caption"],
            "timestamp": media["created"].strftime(GRAPH_TIME),
            "permalink": f"https://www.instagram.com/p/{media['code']}/",
            "media_type": media["media_type"]}


def _get_object(g: GraphState, obj: str) -> dict[str, Any]:
    if obj in g.posts:
        return _post_fields(g.posts[obj])
    if obj in g.media:
        return _media_fields(g.media[obj])
    if obj in g.containers:
        c = g.containers[obj]
        if c["status_code"] == "IN_PROGRESS":
            c["polls_left"] -= 1
            if c["polls_left"] < 0:
                c["status_code"] = c["outcome"]
                if c["outcome"] == "ERROR":
                    c["status"] = "Error: Media upload has failed with error code 2207003"
        return {"id": obj, "status_code": c["status_code"], "status": c["status"]}
    if obj in g.pages:
        page = g.pages[obj]
        answer: dict[str, Any] = {"id": obj, "name": page["name"]}
        if page["ig"]:
            answer["instagram_business_account"] = {"id": page["ig"],
                                                    "username": g.igs[page["ig"]]["username"]}
        return answer
    if obj in g.igs:
        return {"id": obj, "username": g.igs[obj]["username"]}
    raise GraphFailure(100, f"(#100) Object with ID '{obj}' does not exist",
                       error_type="GraphMethodException", subcode=33)


def _ig_container(g: GraphState, ig: str, p: dict[str, Any], token: Token) -> dict[str, Any]:
    _need(token, "instagram_content_publish", code=10)
    container: dict[str, Any] = {"ig": ig, "caption": p.get("caption", ""), "status": "",
                                 "status_code": "IN_PROGRESS", "polls_left": g.ready_after,
                                 "alt_text": p.get("alt_text")}
    if p.get("media_type") == "CAROUSEL":
        children = [c for c in str(p.get("children", "")).split(",") if c]
        if not 2 <= len(children) <= 10:
            raise GraphFailure(100, "(#100) The carousel must have 2 to 10 children",
                               subcode=2207018)
        for child in children:
            item = g.containers.get(child)
            if item is None or not item["is_carousel_item"] or item["ig"] != ig:
                raise GraphFailure(100, f"(#100) {child} is not a carousel item container")
            if item["status_code"] != "FINISHED":
                raise GraphFailure(9007, "Media ID is not available", subcode=2207027)
        container.update(media_type="CAROUSEL", children=children, is_carousel_item=False)
    else:
        if not p.get("image_url"):
            raise GraphFailure(100, "(#100) The parameter image_url is required")
        _fetch_image(str(p["image_url"]))
        container.update(media_type="IMAGE", children=[], image_url=p["image_url"],
                         is_carousel_item=str(p.get("is_carousel_item")).lower() == "true")
    container["outcome"] = g.next_container_outcomes.pop(0) if g.next_container_outcomes \
        else "FINISHED"
    cid = g.new_id()
    g.containers[cid] = container
    return {"id": cid}


def _quota_usage(g: GraphState, ig: dict[str, Any]) -> int:
    start = g.now() - timedelta(seconds=ig["quota_duration"])
    return sum(1 for t in ig["publishes"] if t > start)


def _ig_publish(g: GraphState, ig: str, p: dict[str, Any], token: Token) -> dict[str, Any]:
    _need(token, "instagram_content_publish", code=10)
    container = g.containers.get(str(p.get("creation_id", "")))
    if container is None or container["ig"] != ig or container["is_carousel_item"]:
        raise GraphFailure(100, "(#100) Invalid creation_id", subcode=2207006)
    if container["status_code"] == "PUBLISHED":
        raise GraphFailure(100, "(#100) The media has already been published", subcode=2207008)
    if container["status_code"] != "FINISHED":
        raise GraphFailure(9007, "Media ID is not available", subcode=2207027,
                           error_type="OAuthException")
    account = g.igs[ig]
    if _quota_usage(g, account) >= account["quota_total"]:
        raise GraphFailure(9, "Application request limit reached", subcode=2207042,
                           error_type="OAuthException")
    account["publishes"].append(g.now())
    container["status_code"] = "PUBLISHED"
    media_id = g.new_id()
    g.media[media_id] = {"id": media_id, "ig": ig, "caption": container["caption"],
                         "media_type": container["media_type"],
                         "children": container["children"], "created": g.now(),
                         "code": f"C{media_id[-6:]}", "seq": len(g.media)}
    return {"id": media_id}
