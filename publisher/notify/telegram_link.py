"""Linking a person's Telegram chat with a one-time code.

The preferences page makes a code (only its SHA-256 is stored; it expires after
:data:`CODE_MINUTES`). The person sends ``/start CODE`` to the bot, in a private chat or in a
group the bot was added to. A periodic job reads the bot's updates (``getUpdates``, the offset
kept in :class:`~publisher.models.ServiceState`), links the chat of each valid code, audits
it, and answers in that chat. The Bot API call is made with no database session open.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..channels.base import ChannelError
from ..db import insert_for
from ..models import ServiceState, TelegramLinkCode, User
from ..runtime import Runtime
from ..timeutil import utcnow
from .telegram import TelegramSender

log = logging.getLogger(__name__)

CODE_MINUTES = 30
#: No 0/O, 1/I/L: read off a phone screen and typed on another.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
_OFFSET = "telegram.update_offset"
#: Until when one worker has the poll (its ``updated_at``).
_TURN = "telegram.poll_turn"
_START = re.compile(r"^/start(?:@\w+)?\s+([A-Za-z0-9]{6,16})\s*$")
#: The bot's answers (a code's owner is unknown until it matches: then in their language).
UNKNOWN_CODE = ("Kode tidak dikenal atau sudah kedaluwarsa. Buat kode baru di Pengaturan "
                "notifikasi. / Unknown or expired code: make a new one in Notification "
                "settings.")
LINKED = {
    "id": "Terhubung: notifikasi OPD Publisher untuk {name} dikirim ke chat ini.",
    "en": "Linked: OPD Publisher notifications for {name} are sent to this chat.",
}


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def new_code(session: Session, user_id: int) -> str:
    """A fresh one-time code for ``user_id`` (the person's older codes stop working)."""
    session.execute(delete(TelegramLinkCode).where(TelegramLinkCode.user_id == user_id))
    code = "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(TelegramLinkCode(user_id=user_id, code_hash=_hash(code),
                                 expires_at=utcnow() + timedelta(minutes=CODE_MINUTES)))
    return code


def link_chat(session: Session, code: str, chat: dict[str, Any]) -> User | None:
    """Link ``chat`` to the owner of ``code`` if the code is unused and current."""
    now = utcnow()
    row = session.scalar(select(TelegramLinkCode).where(
        TelegramLinkCode.code_hash == _hash(code), TelegramLinkCode.used_at.is_(None),
        TelegramLinkCode.expires_at > now))
    if row is None:
        return None
    taken = session.execute(update(TelegramLinkCode).where(
        TelegramLinkCode.id == row.id, TelegramLinkCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False))
    if int(getattr(taken, "rowcount", 0) or 0) != 1:
        return None  # another worker linked it a moment ago
    user = session.get(User, row.user_id)
    if user is None:
        return None
    title = str(chat.get("title") or " ".join(
        str(chat.get(k) or "") for k in ("first_name", "last_name")).strip()
        or chat.get("username") or "")[:200]
    user.telegram_chat_id = str(chat["id"])
    user.telegram_chat_title = title
    audit.append(session.connection(), [audit.make_event(
        audit.Actor.system("telegram"), "user.telegram_linked", at=now, result="linked",
        detail={"user_id": user.id, "chat_type": str(chat.get("type") or "")})])
    return user


def poll_updates(runtime: Runtime) -> int:
    """Read the bot's new messages and link the chats of valid codes; returns how many."""
    if not runtime.settings.telegram_bot_token:
        return 0
    # One worker of the cluster reads the updates at a time: two reading the same ones would
    # both answer a code (the second with "unknown code"), and Telegram refuses concurrent
    # getUpdates calls anyway.
    if not _take_turn(runtime):
        return 0
    try:
        return _poll(runtime)
    finally:
        with runtime.db.write() as session:
            session.execute(update(ServiceState).where(ServiceState.name == _TURN)
                            .values(updated_at=utcnow()))


def _take_turn(runtime: Runtime) -> bool:
    """Lease the poll for the longest a poll can take; False while another worker holds it."""
    now = utcnow()
    until = now + timedelta(seconds=2 * runtime.settings.telegram_timeout + 5)
    with runtime.db.write() as session:
        session.connection().execute(insert_for(session, ServiceState)
                                     .values(name=_TURN, value="", updated_at=now)
                                     .on_conflict_do_nothing(index_elements=["name"]))
        taken = session.execute(update(ServiceState).where(
            ServiceState.name == _TURN, ServiceState.updated_at <= now)
            .values(updated_at=until).execution_options(synchronize_session=False))
        return int(getattr(taken, "rowcount", 0) or 0) == 1


def _poll(runtime: Runtime) -> int:
    with runtime.db.read() as session:
        stored = session.scalar(select(ServiceState.value).where(ServiceState.name == _OFFSET))
    offset = int(stored) if stored and stored.isdigit() else 0
    with TelegramSender(runtime.settings) as bot:
        try:
            updates = bot.call("getUpdates", {"offset": offset, "timeout": 0,
                                              "allowed_updates": ["message"]}) or []
        except ChannelError as exc:
            log.warning("Telegram getUpdates failed: %s", exc.message)
            return 0
        replies: list[tuple[Any, str]] = []
        linked = 0
        with runtime.db.write() as session:
            for update_ in updates:
                offset = max(offset, int(update_.get("update_id", 0)) + 1)
                message = update_.get("message") or {}
                match = _START.match(str(message.get("text") or ""))
                chat = message.get("chat") or {}
                if not match or "id" not in chat:
                    continue
                user = link_chat(session, match.group(1), chat)
                if user is None:
                    replies.append((chat["id"], UNKNOWN_CODE))
                else:
                    linked += 1
                    text = LINKED.get(user.locale or "id", LINKED["id"])
                    replies.append((chat["id"], text.format(
                        name=user.full_name or user.username)))
            _store_offset(session, offset)
        for chat_id, text in replies:  # after the commit: no session open during the call
            try:
                bot.call("sendMessage", {"chat_id": chat_id, "text": text})
            except ChannelError as exc:
                log.warning("Telegram reply not sent: %s", exc.message)
    return linked


def _store_offset(session: Session, offset: int) -> None:
    row = session.get(ServiceState, _OFFSET)
    if row is None:
        session.add(ServiceState(name=_OFFSET, value=str(offset), updated_at=utcnow()))
    elif int(row.value or 0) < offset:
        row.value, row.updated_at = str(offset), utcnow()
