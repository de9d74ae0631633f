"""Instagram channel (Instagram API with Facebook Login): one image or a carousel of 2–10.

Publishing takes steps that Meta finishes at its own pace, and no worker thread waits for it:

1. :meth:`InstagramChannel.publish` checks the images are reachable JPEGs at the public base URL
   and the 24-hour publishing quota has room (else RateLimited until a slot frees), creates the
   container(s) and returns :class:`Processing` with their ids.
2. :meth:`InstagramChannel.resume` (called by the queue at ``check_after``) polls
   ``status_code``: a carousel's items must be FINISHED before the CAROUSEL container is made;
   a FINISHED container is published (``media_publish``) and its permalink read. ERROR, EXPIRED
   or too long IN_PROGRESS starts over with new containers (a new attempt, at most
   ``MAX_CONTAINER_ATTEMPTS``).

Reconciliation matches the caption (whitespace-normalised) among the account's recent media.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from ..captions import INSTAGRAM_LIMITS, render_caption
from ..graph import ContainerNotReady, GraphClient, PublishingLimitReached
from ..timeutil import utcnow
from .base import (
    AuthError,
    Channel,
    ChannelError,
    ConfigError,
    Health,
    NotReady,
    Payload,
    PermanentError,
    Processing,
    RateLimited,
    Receipt,
    RenderContext,
    TransientError,
)
from .meta_connect import INSTAGRAM_SCOPES, token_health
from .meta_media import (
    check_graph_id,
    image_url_problem,
    instagram_images,
    normalise_text,
    parse_graph_time,
    public_base_url_problem,
)

__all__ = ["InstagramChannel", "public_base_url_problem"]

CLOCK_SLACK = timedelta(minutes=10)
#: Pages of 25 media read back at most when looking for an earlier attempt's post.
RECONCILE_PAGES = 20
#: New containers after ERROR / EXPIRED / a stuck IN_PROGRESS, before giving up.
MAX_CONTAINER_ATTEMPTS = 3
#: Status checks of one set of containers before it counts as stuck (about 17 minutes).
MAX_POLLS = 20
#: Wait between checks: Meta suggests about once a minute; images are usually ready at once.
POLL_SCHEDULE = (5.0, 10.0, 20.0, 30.0, 60.0)
#: When the quota is spent and we cannot tell when a slot frees.
QUOTA_FALLBACK_WAIT = 3600.0


class InstagramChannel(Channel):
    """Publishes to an Instagram professional account linked to a Facebook Page."""

    kind = "instagram"
    label = "Instagram"
    text_limit = INSTAGRAM_LIMITS.chars
    supports_images = True
    max_images = 10
    supports_links = False
    guards_writes = True
    counts_slots = True
    required_config: ClassVar[tuple[str, ...]] = ("ig_user_id", "page_token")
    secret_fields: ClassVar[tuple[str, ...]] = ("page_token",)

    @classmethod
    def validate_config(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``ig_user_id`` must be the account's numeric id; ``poll_seconds`` a positive number."""
        config, secrets = super().validate_config(config, secrets, settings)
        check_graph_id(config, "ig_user_id", "akun Instagram")
        if config.get("poll_seconds") is not None:
            try:
                seconds = float(config["poll_seconds"])
            except (TypeError, ValueError):
                seconds = 0.0
            if not 0 < seconds <= 3600:
                raise ConfigError("poll_seconds", "harus angka detik antara 0 dan 3600")
            config["poll_seconds"] = seconds
        return config, secrets

    @property
    def ig_user_id(self) -> str:
        """The Instagram professional account's Graph id."""
        return str(self.info.config["ig_user_id"])

    def _graph(self) -> GraphClient:
        return GraphClient(str(self.info.secrets.get("page_token") or ""), self.settings)

    def _poll_after(self, polls: int) -> float:
        schedule = self.info.config.get("poll_seconds")
        if schedule:  # one figure for every check (tests, or an impatient operator)
            return float(schedule)
        return POLL_SCHEDULE[min(polls, len(POLL_SCHEDULE) - 1)]

    # --- render ---------------------------------------------------------------------------

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """Caption from ``posts/instagram.txt.j2`` within Instagram's limits; the images'
        Instagram variants (or a generated card when the item has none)."""
        caption = render_caption(self.kind, ctx, renderer, INSTAGRAM_LIMITS)
        images = instagram_images(ctx, self.settings)[: self.max_images]
        return self.base_payload(ctx, title=ctx.item.title, text=caption, images=images)

    # --- publish and resume ---------------------------------------------------------------

    def publish(self, payload: Payload) -> Receipt | Processing:
        """Check images and quota, create the container(s); the rest happens in resume()."""
        self._preflight(payload)
        with self._graph() as graph:
            wait = self._quota_wait(graph, payload.slots_ahead)
            if wait > 0:
                held = (f" ({payload.slots_ahead} slot dipesan publikasi lain yang sedang "
                        "diproses)" if payload.slots_ahead else "")
                raise RateLimited(
                    f"Kuota unggahan Instagram 24 jam sudah habis{held}; publikasi ditunda "
                    "sampai kuota pulih (tidak gagal).",
                    retry_after=wait,
                    detail=f"content_publishing_limit spent with {payload.slots_ahead} "
                           f"reserved; next slot in {wait:.0f}s",
                )
            state = self._create(graph, payload, attempt=1)
        return Processing(state, check_after=self._poll_after(0))

    def resume(self, payload: Payload, state: dict[str, Any]) -> Receipt | Processing:
        """Check the containers; publish when ready, or start over when Meta gave up on them."""
        state = dict(state)
        with self._graph() as graph:
            if state.get("step") == "items":
                statuses = [self._status(graph, cid) for cid in state["items"]]
                if all(code == "FINISHED" for code, _ in statuses):
                    try:
                        state["container"] = self._create_carousel(graph, payload, state["items"])
                    except ContainerNotReady:
                        return self._waiting(graph, payload, state, statuses)
                    state.update(step="container", polls=0)
                    return Processing(state, check_after=self._poll_after(0))
                return self._waiting(graph, payload, state, statuses)
            code, detail = self._status(graph, state["container"])
            if code == "FINISHED":
                return self._publish_container(graph, payload, state)
            if code == "PUBLISHED":  # published by an earlier attempt whose answer was lost
                since = datetime.fromisoformat(state["created_at"])
                found = self._find(graph, payload, since)
                if found is not None:
                    return found
                raise TransientError(
                    "Instagram menyatakan kiriman sudah terbit, tetapi belum terlihat di akun; "
                    "diperiksa lagi.",
                    detail=f"container {state['container']} PUBLISHED, media not found",
                    uncertain=True,
                )
            return self._waiting(graph, payload, state, [(code, detail)])

    def _waiting(
        self,
        graph: GraphClient,
        payload: Payload,
        state: dict[str, Any],
        statuses: list[tuple[str, str]],
    ) -> Processing:
        broken = [(c, d) for c, d in statuses if c in ("ERROR", "EXPIRED")]
        polls = int(state.get("polls", 0)) + 1
        if broken or polls > MAX_POLLS:
            code, detail = broken[0] if broken else ("IN_PROGRESS", "terlalu lama diproses")
            return self._start_over(graph, payload, state, code, detail)
        state["polls"] = polls
        return Processing(state, check_after=self._poll_after(polls))

    def _start_over(
        self, graph: GraphClient, payload: Payload, state: dict[str, Any], code: str, detail: str
    ) -> Processing:
        attempt = int(state.get("attempt", 1)) + 1
        if attempt > MAX_CONTAINER_ATTEMPTS:
            raise PermanentError(
                f"Instagram gagal memproses gambar {MAX_CONTAINER_ATTEMPTS} kali "
                f"(status {code}: {detail or 'tanpa keterangan'}). Periksa gambarnya (JPEG, "
                "rasio 4:5 sampai 1,91:1, maksimal 8 MB) lalu kirim ulang.",
                detail=f"containers {state.get('items') or state.get('container')}: {code}",
            )
        self._preflight(payload)  # an image that went missing fails here with a clear reason
        new_state = self._create(graph, payload, attempt=attempt)
        new_state["previous"] = f"{code}: {detail}"[:300]
        return Processing(new_state, check_after=self._poll_after(0))

    def _publish_container(
        self, graph: GraphClient, payload: Payload, state: dict[str, Any]
    ) -> Receipt | Processing:
        payload.before_write()
        try:
            answer = graph.post(f"{self.ig_user_id}/media_publish", creation_id=state["container"])
        except ContainerNotReady:
            return self._waiting(graph, payload, state, [("IN_PROGRESS", "")])
        except PublishingLimitReached as exc:
            raise RateLimited(exc.message, retry_after=self._quota_wait(graph) or None,
                              detail=exc.detail) from None
        media_id = str(answer["id"])
        try:
            media = graph.get(media_id, fields="permalink,timestamp")
        except ChannelError:  # the post exists: a failed read must not make us post again
            media = {}
        published = parse_graph_time(media.get("timestamp")) or utcnow()
        return Receipt(media_id, str(media.get("permalink") or ""), published_at=published)

    # --- Graph steps ----------------------------------------------------------------------

    def _preflight(self, payload: Payload) -> None:
        if not payload.images:
            raise PermanentError(
                "Instagram butuh minimal satu gambar. Tambahkan gambar pada informasi ini."
            )
        if len(payload.images) > self.max_images:
            raise PermanentError(
                f"Carousel Instagram paling banyak {self.max_images} gambar; publikasi ini "
                f"punya {len(payload.images)}. Kurangi gambarnya."
            )
        problem = public_base_url_problem(self.settings.public_base_url, self.settings)
        if problem:
            raise PermanentError(problem)
        for image in payload.images:
            problem = image_url_problem(image.public_url, self.settings)
            if problem:
                raise PermanentError(
                    problem + " Instagram harus dapat mengambil gambar ini dari internet."
                )

    def _create(self, graph: GraphClient, payload: Payload, *, attempt: int) -> dict[str, Any]:
        """New container(s); returns the processing state."""
        state: dict[str, Any] = {
            "attempt": attempt,
            "polls": 0,
            "created_at": utcnow().isoformat(),
        }
        if len(payload.images) == 1:
            image = payload.images[0]
            data = {"image_url": image.public_url, "caption": payload.text}
            if image.alt_text:
                data["alt_text"] = image.alt_text
            state.update(step="container", container=self._post_container(graph, data))
            return state
        items = []
        for image in payload.images:
            data = {"image_url": image.public_url, "is_carousel_item": "true"}
            if image.alt_text:
                data["alt_text"] = image.alt_text
            items.append(self._post_container(graph, data))
        state.update(step="items", items=items)
        return state

    def _create_carousel(self, graph: GraphClient, payload: Payload, items: list[str]) -> str:
        data = {"media_type": "CAROUSEL", "children": ",".join(items), "caption": payload.text}
        return self._post_container(graph, data)

    def _post_container(self, graph: GraphClient, data: dict[str, Any]) -> str:
        try:
            return str(graph.post(f"{self.ig_user_id}/media", **data)["id"])
        except TransientError as exc:
            # A container is not a post: an unused one expires, nothing to reconcile.
            raise exc.certain() from None

    def _status(self, graph: GraphClient, container_id: str) -> tuple[str, str]:
        """A container's status. A status that cannot be read just now is a wait, not a
        failed attempt: the container keeps its place and is checked again."""
        try:
            answer = graph.get(container_id, fields="status_code,status")
        except TransientError as exc:
            if not exc.consumes_attempt:
                raise
            raise NotReady(
                "Status kontainer Instagram belum dapat dibaca; dicek lagi.",
                detail=exc.detail,
            ) from None
        return str(answer.get("status_code") or "IN_PROGRESS"), str(answer.get("status") or "")

    def _quota_wait(self, graph: GraphClient, reserved: int = 0) -> float:
        """0 when the rolling quota has room beyond the ``reserved`` slots (this channel's
        publications ahead of this one), else seconds until enough counted posts leave the
        window (media made in the app may not count: then we simply check again)."""
        try:
            answer = graph.get(
                f"{self.ig_user_id}/content_publishing_limit", fields="quota_usage,config"
            )
        except PermanentError:  # cannot read it: media_publish will say so (2207042) if spent
            return 0.0
        rows = answer.get("data") or [{}]
        usage = int(rows[0].get("quota_usage") or 0)
        config = rows[0].get("config") or {}
        total = int(config.get("quota_total") or 0)
        duration = float(config.get("quota_duration") or 86400)
        if not total or usage + reserved < total:
            return 0.0
        need = usage + reserved - total + 1  # slots that must free up before this one
        now = utcnow()
        window_start = now - timedelta(seconds=duration)
        inside: list[datetime] = []  # newest first
        for media in graph.paged(f"{self.ig_user_id}/media", fields="id,timestamp", limit=50):
            moment = parse_graph_time(media.get("timestamp"))
            if moment is None or moment < window_start:
                break
            inside.append(moment)
        if len(inside) < need:  # the reserved slots are not posted yet: check again later
            return QUOTA_FALLBACK_WAIT
        frees = inside[-need]  # the need-th oldest post in the window
        return max(60.0, (frees + timedelta(seconds=duration) - now).total_seconds() + 1)

    # --- reconciliation and health --------------------------------------------------------

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """The account's media with this payload's caption, made since ``since``."""
        with self._graph() as graph:
            return self._find(graph, payload, since)

    def _find(self, graph: GraphClient, payload: Payload, since: datetime | None) -> Receipt | None:
        want = normalise_text(payload.text)
        floor = since - CLOCK_SLACK if since else None
        media_list = graph.paged(
            f"{self.ig_user_id}/media", fields="id,caption,timestamp,permalink", limit=25,
            max_pages=RECONCILE_PAGES, complete=True,
        )
        for media in media_list:
            moment = parse_graph_time(media.get("timestamp"))
            if floor and moment and moment < floor:
                return None
            if normalise_text(str(media.get("caption") or "")) == want:
                return Receipt(str(media["id"]), str(media.get("permalink") or ""), moment)
        return None

    def check(self) -> Health:
        """Token validity, scopes and expiry; the account answers; the public base URL."""
        token = str(self.info.secrets.get("page_token") or "")
        with self._graph() as graph:
            health = token_health(graph, token, INSTAGRAM_SCOPES)
            if not health.ok:
                return health
            try:
                account = graph.get(self.ig_user_id, fields="id,username")
            except (PermanentError, AuthError) as exc:
                return Health(ok=False, detail=f"Akun Instagram tidak dapat dibaca: {exc.message}",
                              reauth=isinstance(exc, AuthError))
        problem = public_base_url_problem(self.settings.public_base_url, self.settings)
        if problem:
            return Health(ok=False, detail=problem, expires_at=health.expires_at,
                          scopes=health.scopes)
        name = account.get("username") or self.ig_user_id
        return Health(
            ok=True,
            detail=f"Instagram @{name}: {health.detail}",
            expires_at=health.expires_at,
            scopes=health.scopes,
        )
