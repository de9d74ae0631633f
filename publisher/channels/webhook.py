"""``webhook``: a JSON POST to any URL, signed per Standard Webhooks.

Any CMS can receive items this way. The ``webhook-id`` header is the publication's fingerprint,
stable across retries, so a receiver that dedupes on it (as the Standard Webhooks spec asks)
never shows an item twice even when a send is repeated after a crash.

Receivers that can say what they already have may offer a lookup URL (config ``lookup_url``):
``GET <lookup_url>?webhook-id=<id>`` answering 200 ``{"id": …, "url": …}`` when that delivery
was stored and 404 when not. With it, reconciliation after a crash finds the earlier delivery
and nothing is sent again; without it, the resend carries the same webhook id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from standardwebhooks.webhooks import Webhook

from ..keepalive import ConnectFailed, KeepAliveClient, RequestFailed, Response
from ..netguard import OutboundError, check_url
from .base import (
    AuthError,
    Channel,
    ConfigError,
    Health,
    Payload,
    PermanentError,
    RateLimited,
    Receipt,
    RenderContext,
    TransientError,
)

EVENT_TYPE = "informasi.published"
USER_AGENT = "opd-publisher-webhook/1"


def new_signing_secret() -> str:
    """A fresh ``whsec_…`` secret (base64 of 32 random bytes)."""
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_url(config: dict[str, Any], name: str, settings: Any) -> str:
    """``config[name]`` stripped, http(s), and allowed by the outbound guard ("" if unset)."""
    url = str(config.get(name) or "").strip()
    if not url:
        return ""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(name, "harus diawali http:// atau https://")
    try:
        check_url(url, settings)
    except OutboundError as exc:
        raise ConfigError(name, str(exc)) from None
    return url


def _retry_after(response: Response) -> float | None:
    """The seconds of a Retry-After header (None when absent or a date)."""
    value = response.headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


class WebhookChannel(Channel):
    """POST each item as JSON to the OPD's own CMS or any integration."""

    kind: ClassVar[str] = "webhook"
    label: ClassVar[str] = "Webhook (CMS lain)"
    supports_images = True
    max_images = 20
    guards_writes = True
    required_config = ("url",)
    secret_fields = ("signing_secret",)

    @classmethod
    def validate_config(
        cls, config: dict[str, Any], secrets: dict[str, Any], settings: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """URL must be http(s) and pass the outbound-address guard; a secret is made if absent."""
        config, secrets = super().validate_config(config, secrets, settings)
        url = _checked_url(config, "url", settings)
        secret = secrets.get("signing_secret") or new_signing_secret()
        try:
            Webhook(secret)
        except Exception:
            raise ConfigError("signing_secret", "bukan rahasia whsec_… yang sah") from None
        lookup = _checked_url(config, "lookup_url", settings)
        return {**config, "url": url, "lookup_url": lookup}, {"signing_secret": secret}

    def render(self, ctx: RenderContext, renderer: Any) -> Payload:
        """The JSON body: the item with its DIP columns, images, and a ready-made text."""
        item = ctx.item
        body: dict[str, Any] = {
            "type": EVENT_TYPE,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {
                "publication_id": ctx.publication_id,
                "fingerprint": self.fingerprint(ctx),
                "opd": {"id": ctx.opd.id, "name": ctx.opd.name, "slug": ctx.opd.slug},
                "item": {
                    "id": item.id, "version": item.version, "content_hash": item.content_hash,
                    "title": item.title, "body_html": item.body_html, "summary": item.summary,
                    "category": item.category, "link": item.link, "url": item.site_url,
                    "official_unit": item.official_unit, "responsible": item.responsible,
                    "made_at": item.made_at.isoformat() if item.made_at else None,
                    "made_place": item.made_place, "info_formats": list(item.info_formats),
                    "retention": item.retention,
                },
                "images": [{"url": m.public_url, "alt_text": m.alt_text, "width": m.width,
                            "height": m.height, "mime_type": m.mime_type} for m in ctx.media],
                "text": renderer.render(self.kind, ctx),
            },
        }
        return self.base_payload(ctx, title=item.title, text=body["data"]["text"],
                                 html=item.body_html, link=item.site_url,
                                 images=list(ctx.media), data=body)

    def _client(self) -> KeepAliveClient:
        client: KeepAliveClient | None = getattr(self, "_keepalive", None)
        if client is None:
            client = self._keepalive = KeepAliveClient(self.settings, user_agent=USER_AGENT)
        return client

    def _signer(self) -> Webhook:
        signer: Webhook | None = getattr(self, "_webhook_signer", None)
        if signer is None:
            signer = self._webhook_signer = Webhook(self.info.secrets["signing_secret"])
        return signer

    def publish(self, payload: Payload) -> Receipt:
        """POST the signed JSON; 2xx is a receipt (the receiver may return ``id``/``url``)."""
        body = json.dumps(payload.data, ensure_ascii=False, separators=(",", ":"))
        payload.before_write()
        sent_at = datetime.now(UTC)
        signature = self._signer().sign(payload.fingerprint, sent_at, body)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": payload.fingerprint,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        }
        try:
            response = self._client().request("POST", self.info.config["url"],
                                              body=body.encode(), headers=headers)
        except OutboundError as exc:
            raise PermanentError(f"Alamat webhook ditolak: {exc}") from None
        except ConnectFailed as exc:
            message = ("Penerima webhook tidak dapat dihubungi tepat waktu" if exc.timed_out
                       else "Tidak dapat terhubung ke penerima webhook")
            raise TransientError(message, detail=str(exc)) from None
        except RequestFailed as exc:
            if not exc.sent:  # e.g. the TLS handshake failed: nothing reached the receiver
                raise TransientError("Tidak dapat terhubung ke penerima webhook",
                                     detail=str(exc)) from None
            # the receiver may have acted on it: reconcile before sending again
            raise TransientError("Penerima webhook tidak menjawab dengan utuh",
                                 detail=str(exc), uncertain=True) from None
        return self._receipt(response, payload)

    def _receipt(self, response: Response, payload: Payload) -> Receipt:
        status = response.status
        snippet = response.body[:300].decode("utf-8", "replace")
        if 200 <= status < 300:
            remote_id, url = payload.fingerprint, ""
            try:
                answer = json.loads(response.body or b"null")
                if isinstance(answer, dict):
                    remote_id = str(answer.get("id") or remote_id)
                    url = str(answer.get("url") or "")
            except ValueError:
                pass
            return Receipt(remote_id=remote_id, url=url)
        if status in (401, 403):
            raise AuthError(f"Penerima webhook menolak tanda tangan/akses (HTTP {status})",
                            detail=snippet)
        if status == 429:
            raise RateLimited("Penerima webhook meminta menunggu (HTTP 429)",
                              retry_after=_retry_after(response))
        if status >= 500:  # it may have stored the delivery before failing
            raise TransientError(f"Penerima webhook sedang bermasalah (HTTP {status})",
                                 detail=snippet, uncertain=True)
        if 300 <= status < 400:
            raise PermanentError(
                f"Penerima webhook mengalihkan ke alamat lain (HTTP {status}); perbarui URL "
                "saluran ke alamat tujuan", detail=response.headers.get("location", ""))
        raise PermanentError(f"Penerima webhook menolak isi kiriman (HTTP {status}): {snippet}")

    def find_existing(self, payload: Payload, since: datetime | None) -> Receipt | None:
        """Ask the receiver's lookup URL whether this delivery was stored (None: not found or
        no lookup URL; then the resend's webhook id lets the receiver dedupe)."""
        lookup = self.info.config.get("lookup_url")
        if not lookup:
            return None
        try:
            response = self._client().request("GET", lookup,
                                              query={"webhook-id": payload.fingerprint})
        except (OutboundError, RequestFailed) as exc:
            raise TransientError("Tidak dapat menanyakan penerima webhook",
                                 detail=str(exc)) from None
        if response.status == 404:
            return None
        if response.status in (401, 403):
            raise AuthError(f"Penerima webhook menolak pencarian (HTTP {response.status})")
        if response.status == 429:
            raise RateLimited("Penerima webhook meminta menunggu (HTTP 429)",
                              retry_after=_retry_after(response))
        if response.status != 200:
            raise TransientError(f"Pencarian di penerima webhook gagal (HTTP {response.status})")
        try:
            answer = json.loads(response.body)
        except ValueError:
            raise TransientError("Jawaban pencarian penerima webhook bukan JSON") from None
        return Receipt(remote_id=str(answer.get("id") or payload.fingerprint),
                       url=str(answer.get("url") or ""))

    def check(self) -> Health:
        """The URL passes the outbound guard and answers something over HTTP."""
        try:
            check_url(self.info.config["url"], self.settings)
            self._client().request("HEAD", self.info.config["url"])
        except OutboundError as exc:
            return Health(ok=False, detail=f"Alamat ditolak: {exc}")
        except RequestFailed as exc:
            return Health(ok=False, detail=f"Tidak dapat terhubung: {exc}")
        return Health(ok=True, detail="Penerima webhook dapat dihubungi")
