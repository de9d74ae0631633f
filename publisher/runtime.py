"""The long-lived parts of a running service, shared by the web app, CLI and workers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from .channels import get as channel_class
from .channels.base import Channel as ChannelImpl
from .channels.base import ChannelInfo
from .config import Settings
from .crypto import SecretBox
from .db import Database
from .images.budget import budget as image_budget
from .models import Channel, PostTemplate
from .queue.retry import RetryPolicy
from .render import Renderer


class Runtime:
    """Settings, database, secrets, renderer and retry policy for one process."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.database_url)
        self.secret_box = SecretBox(settings.secret_key, settings.old_secret_keys)
        self.renderer = Renderer(self._load_overrides)
        self.retry_policy = RetryPolicy(
            settings.max_attempts, settings.retry_base_seconds, settings.retry_cap_seconds
        )
        image_budget.limit = settings.image_memory_mb * 1024 * 1024

    def _load_overrides(self) -> dict[tuple[int, str], str]:
        with self.db.read() as session:
            return {
                (t.opd_id, t.channel_kind): t.body for t in session.scalars(select(PostTemplate))
            }

    def channel_info(self, row: Channel | dict[str, Any]) -> ChannelInfo:
        """Copy a channel row (ORM object or mapping) out of the session, secrets decrypted."""
        def get(key: str) -> Any:
            return row[key] if isinstance(row, dict) else getattr(row, key)

        return ChannelInfo(
            id=get("id"), opd_id=get("opd_id"), kind=get("kind"), name=get("name"),
            status=get("status"), config=dict(get("config") or {}),
            secrets=self.secret_box.decrypt(get("secrets_encrypted")),
        )

    def channel(self, row: Channel | dict[str, Any]) -> ChannelImpl:
        """A ready channel instance for a row."""
        info = self.channel_info(row)
        return channel_class(info.kind)(info, self.settings)
