"""A feedgen extension that carries the latest signed audit checkpoint in the Pemda feed, so
every feed reader or archive that keeps the feed also keeps a copy of the checkpoints."""

from __future__ import annotations

from typing import Any

from feedgen.ext.base import BaseExtension
from lxml import etree

NAMESPACE = "urn:opd-publisher:audit-checkpoint:1"
PREFIX = "audit"
_ATTRIBUTES = ("count", "head_seq", "head_hash", "time", "signature")


class CheckpointExtension(BaseExtension):
    """Adds ``<audit:checkpoint count=… head_seq=… head_hash=… time=… signature=… href=…/>``
    at feed level (Atom ``feed``, RSS ``channel``)."""

    def __init__(self) -> None:
        self._checkpoint: dict[str, Any] | None = None
        self._href = ""

    def checkpoint(self, checkpoint: dict[str, Any] | None, href: str) -> None:
        """The checkpoint to carry (None: none yet) and where the full list is served."""
        self._checkpoint, self._href = checkpoint, href

    def extend_ns(self) -> dict[str, str]:
        """The extension's namespace."""
        return {PREFIX: NAMESPACE}

    def _append(self, parent: Any) -> None:
        if self._checkpoint is None:
            return
        element = etree.SubElement(parent, f"{{{NAMESPACE}}}checkpoint")
        for name in _ATTRIBUTES:
            element.set(name, str(self._checkpoint.get(name, "")))
        element.set("href", self._href)

    def extend_atom(self, feed: Any) -> Any:
        """Atom: a child of ``feed``."""
        self._append(feed)
        return feed

    def extend_rss(self, feed: Any) -> Any:
        """RSS: a child of ``channel``."""
        self._append(feed.find("channel"))
        return feed
