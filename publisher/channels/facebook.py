"""Facebook Page channel: text, text + link, one photo, or several photos in one post.

Several photos are uploaded unpublished (``published=false``) and attached to one feed post
(``attached_media``); an unpublished photo left over from a failed attempt is invisible.

Reconciliation: a Facebook post has no hidden field to carry our fingerprint, and a visible one
would clutter every post, so :meth:`FacebookPageChannel.find_existing` matches the message text
(whitespace-normalised) among the Page's posts made since the attempt began. The text holds the
item's title and its unique page URL, so two publications do not share it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, ClassVar

from ..captions import FACEBOOK_LIMITS, render_caption
from ..graph import GraphClient
from ..media_variants import variant_url
from ..timeutil import utcnow
from .base import (
    AuthError,
    Channel,
    ChannelError,
    Health,
    MediaView,
    Payload,
    PermanentError,
    Processing,
    Receipt,
    RenderContext,
    TransientError,
)
from .meta_connect import FACEBOOK_SCOPES, token_health
from .meta_media import check_graph_id, facebook_upload, normalise_text, parse_graph_time

#: Posts' clocks may differ a little from ours.
CLOCK_SLACK = timedelta(minutes=10)
#: Pages of 25 posts read back at most when looking for an earlier attempt's post.
RECONCILE_PAGES = 20


class FacebookPageChannel(Channel):
    """Posts to a Facebook Page with the Page's access token."""

    kind = "facebook"
    label = "Halaman Facebook"
    text_limit = FACEBOOK_LIMITS.chars
    supports_images = True
    max_images = 10
    supports_links = True
    guards_writes = True
    required_config: ClassVar[tuple[str, ...]] = ("page_id", "page_token")
    secret_fields: ClassVar[tuple[str, ...]] = ("page_token",)

    @classmethod
    def validate_config(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``page_id`` must be a Page's numeric id; ``page_token`` is required."""
        config, secrets = super().validate_config(config, secrets, settings)
        check_graph_id(config, "page_id", "Halaman Facebook")
        return config, secrets

    @property
    def page_id(self) -> str:
        """The Page's Graph id."""
        return str(self.info.config["page_id"])

    def _graph(self) -> GraphClient:
        return GraphClient(str(self.info.secrets.get("page_token") or ""), self.settings)

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """Message from ``posts/facebook.txt.j2``; the item's page as the link; its images."""
        text = render_caption(self.kind, ctx, renderer, FACEBOOK_LIMITS)
        images = list(ctx.media[: self.max_images])
        return self.base_payload(
            ctx, title=ctx.item.title, text=text, link=ctx.item.site_url, images=images
        )

    def publish(self, payload: Payload) -> Receipt | Processing:
        """One Graph write for text or one photo; uploads plus one write for several photos."""
        if len(payload.images) > self.max_images:
            raise PermanentError(
                f"Facebook menerima paling banyak {self.max_images} foto per kiriman; "
                f"publikasi ini punya {len(payload.images)}. Kurangi fotonya."
            )
        with self._graph() as graph:
            if not payload.images:
                data = {"message": payload.text}
                if payload.link:
                    data["link"] = payload.link
                payload.before_write()
                post_id = str(graph.post(f"{self.page_id}/feed", **data)["id"])
            elif len(payload.images) == 1:
                payload.before_write()
                answer = self._upload(graph, payload.images[0], caption=payload.text)
                post_id = str(answer.get("post_id") or f"{self.page_id}_{answer['id']}")
            else:
                post_id = self._multi_photo_post(graph, payload)
            return Receipt(post_id, self._permalink(graph, post_id), published_at=utcnow())

    def _multi_photo_post(self, graph: GraphClient, payload: Payload) -> str:
        photo_ids = []
        for image in payload.images:
            try:
                photo_ids.append(str(self._upload(graph, image, published=False)["id"]))
            except TransientError as exc:
                # Unpublished photos are invisible: nothing to reconcile before trying again
                # (the error keeps its type and wait: a rate limit stays a rate limit).
                raise exc.certain() from None
        data = {"message": payload.text}
        for index, photo_id in enumerate(photo_ids):
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        payload.before_write()
        return str(graph.post(f"{self.page_id}/feed", **data)["id"])

    def _upload(
        self, graph: GraphClient, image: MediaView, *, caption: str = "", published: bool = True
    ) -> dict[str, Any]:
        """Upload the Facebook variant's bytes when the file is here (Meta need not reach our
        server), else let Meta fetch the variant URL."""
        data: dict[str, Any] = {}
        if caption:
            data["caption"] = caption
        if not published:
            data["published"] = "false"
        if image.alt_text:
            data["alt_text_custom"] = image.alt_text
        upload = facebook_upload(image)
        if upload is not None:
            name, jpeg = upload
            files = {"source": (name, jpeg, "image/jpeg")}
            return graph.post(f"{self.page_id}/photos", files=files, **data)
        return graph.post(
            f"{self.page_id}/photos", url=variant_url(image.public_url, "facebook"), **data
        )

    def _permalink(self, graph: GraphClient, post_id: str) -> str:
        """The post's permalink; the post exists already, so a failed read must not fail it."""
        try:
            url = graph.get(post_id, fields="permalink_url").get("permalink_url")
        except ChannelError:
            url = None
        return str(url or f"https://www.facebook.com/{post_id}")

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """The Page's post with this payload's text, made since ``since`` (minus clock slack).

        None only when the Page's posts were read back to ``since``; a Page that posted more
        than the pages read in the meantime raises (the check did not complete).
        """
        want = normalise_text(payload.text)
        floor = since - CLOCK_SLACK if since else None
        with self._graph() as graph:
            posts = graph.paged(
                f"{self.page_id}/published_posts",
                fields="id,message,created_time,permalink_url",
                limit=25, max_pages=RECONCILE_PAGES, complete=True,
            )
            for post in posts:
                created = parse_graph_time(post.get("created_time"))
                if floor and created and created < floor:
                    return None  # newest first: everything further is older
                if normalise_text(str(post.get("message") or "")) == want:
                    post_id = str(post["id"])
                    url = post.get("permalink_url") or f"https://www.facebook.com/{post_id}"
                    return Receipt(post_id, str(url), published_at=created)
        return None

    def check(self) -> Health:
        """Token validity, scopes and expiry, and that the Page answers."""
        token = str(self.info.secrets.get("page_token") or "")
        with self._graph() as graph:
            health = token_health(graph, token, FACEBOOK_SCOPES)
            if not health.ok:
                return health
            try:
                page = graph.get(self.page_id, fields="id,name")
            except (PermanentError, AuthError) as exc:
                return Health(ok=False, detail=f"Halaman tidak dapat dibaca: {exc.message}",
                              reauth=isinstance(exc, AuthError))
        name = page.get("name") or self.page_id
        return Health(
            ok=True,
            detail=f"Halaman {name}: {health.detail}",
            expires_at=health.expires_at,
            scopes=health.scopes,
        )
