"""``site``: the built-in OPD public website (``/o/<opd>/``), its feeds and DIP page.

Publishing here makes the item visible on the OPD's public pages and feeds; the page lives in
this service's own database, so there is nothing remote to call and a resend is harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from .base import Channel, Payload, Receipt, RenderContext


class SiteChannel(Channel):
    """The OPD's page on the built-in public site."""

    kind: ClassVar[str] = "site"
    label: ClassVar[str] = "Situs publik OPD"
    supports_images = True
    max_images = 20
    remote = False

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """Title, sanitised body and a summary for listings and feeds."""
        return self.base_payload(
            ctx,
            title=ctx.item.title,
            text=renderer.render(self.kind, ctx),
            html=ctx.item.body_html,
            link=ctx.item.site_url,
            images=list(ctx.media),
            data={"item_id": ctx.item.id},
        )

    def publish(self, payload: Payload) -> Receipt:
        """The item page's stable URL is the receipt."""
        return Receipt(remote_id=f"site-item-{payload.data.get('item_id', payload.link)}",
                       url=payload.link)

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """Publishing on the site is idempotent: the page is the same page."""
        return self.publish(payload)
