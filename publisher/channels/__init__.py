"""Channel registry: built-in channels by kind, plus any registered through the
``opd_publisher.channels`` entry-point group by a third party."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from .base import Channel

_BUILTIN = {
    "site": "publisher.channels.site:SiteChannel",
    "webhook": "publisher.channels.webhook:WebhookChannel",
    "facebook": "publisher.channels.facebook:FacebookPageChannel",
    "instagram": "publisher.channels.instagram:InstagramChannel",
    "wordpress": "publisher.channels.wordpress:WordPressChannel",
}
_registry: dict[str, type[Channel]] = {}
_loaded = False


class UnknownChannelKind(KeyError):
    """No channel of that kind is installed."""


def register(cls: type[Channel]) -> type[Channel]:
    """Add a channel class (usable as a decorator, e.g. for tests and benchmarks)."""
    _registry[cls.kind] = cls
    return cls


def _load(target: str) -> type[Channel] | None:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # that built-in channel is not part of this build yet
            return None
        raise
    cls = getattr(module, attr)
    return cls if isinstance(cls, type) and issubclass(cls, Channel) else None


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for kind, target in _BUILTIN.items():
        if kind not in _registry and (cls := _load(target)) is not None:
            _registry[kind] = cls
    for ep in entry_points(group="opd_publisher.channels"):
        if ep.name not in _registry:
            cls = ep.load()
            if isinstance(cls, type) and issubclass(cls, Channel):
                _registry[ep.name] = cls
    _loaded = True


def get(kind: str) -> type[Channel]:
    """The channel class for ``kind``; raises UnknownChannelKind."""
    _load_all()
    try:
        return _registry[kind]
    except KeyError:
        raise UnknownChannelKind(kind) from None


def kinds() -> list[str]:
    """Every installed channel kind."""
    _load_all()
    return sorted(_registry)
