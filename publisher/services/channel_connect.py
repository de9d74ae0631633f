"""Connecting a channel whose kind checks the account over the network before it is saved
(``connect(config, secrets, settings)``, e.g. WordPress's site and application password check).

These functions make network calls: call them with no database session open (they open only a
short read of their own), then pass the returned config and secrets to
:func:`publisher.services.channels.create_channel` / ``update_channel``.
"""

from __future__ import annotations

from typing import Any

from ..access import Principal
from ..channels import UnknownChannelKind
from ..channels import get as channel_class
from ..channels.base import ConfigError
from .channels import get_channel, require_manager
from .errors import Invalid

Pair = tuple[dict[str, Any], dict[str, Any]]


def connector(kind: str) -> Any:
    """The channel class of ``kind`` if it has ``connect``; None otherwise (or unknown kind:
    the services name that error)."""
    try:
        cls = channel_class(kind)
    except UnknownChannelKind:
        return None
    return cls if callable(getattr(cls, "connect", None)) else None


def connect(kind: str, config: dict[str, Any], secrets: dict[str, Any], settings: Any) -> Pair:
    """``(config, secrets)`` as the kind's ``connect`` returns them (e.g. with the discovered
    ``api_root``); unchanged for a kind without one. A refusal is Invalid naming the request
    field (``config.url``, ``secrets.app_password``) with the site's own explanation."""
    cls = connector(kind)
    if cls is None:
        return config, secrets
    try:
        connected: Pair = cls.connect(dict(config), dict(secrets), settings)
    except ConfigError as exc:
        part = "secrets" if exc.field in cls.secret_fields else "config"
        raise Invalid(exc.message, field=f"{part}.{exc.field}") from None
    return connected


def reconnect(runtime: Any, principal: Principal, channel_id: int,
              config: dict[str, Any] | None,
              secrets: dict[str, Any] | None) -> tuple[dict[str, Any] | None,
                                                       dict[str, Any] | None]:
    """For a change of channel ``channel_id``: when its kind connects and the change touches
    the credentials (new secrets, or another value of a required setting such as the URL or
    user name), connect with the stored settings merged with the new ones.

    Returns the ``(config, secrets)`` to give ``update_channel`` (secrets stay None when the
    request had none). Raises NotFound/Forbidden before any network call.
    """
    with runtime.db.read() as s:
        row = get_channel(s, principal, channel_id)
        require_manager(principal, row.opd_id)
        cls = connector(row.kind)
        stored_config = dict(row.config or {})
        if cls is None or not _credentials_changed(cls, stored_config, config, secrets):
            return config, secrets
        kind, sealed = row.kind, row.secrets_encrypted
    stored_secrets = runtime.secret_box.decrypt(sealed)
    merged_config, merged_secrets = connect(
        kind, {**stored_config, **(config or {})}, {**stored_secrets, **(secrets or {})},
        runtime.settings)
    return merged_config, merged_secrets if secrets else None


def _credentials_changed(cls: Any, stored: dict[str, Any], config: dict[str, Any] | None,
                         secrets: dict[str, Any] | None) -> bool:
    if secrets:
        return True
    new = config or {}
    keys = [k for k in cls.required_config if k not in cls.secret_fields]
    return any(k in new and _norm(new[k]) != _norm(stored.get(k)) for k in keys)


def _norm(value: Any) -> str:
    return str(value or "").strip().rstrip("/")
