"""Notifikasi: the signed-in user's in-app notifications (the bell), marking them read, the
per-kind preferences (email, Telegram, in-app only or off; at once or in the daily digest)
and linking a Telegram chat with a one-time code."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..app import get_runtime
from ..models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationStatus,
    Timing,
    User,
)
from ..notify.kinds import KINDS
from ..notify.outbox import DEFAULT_ZONE, person_zones
from ..notify.telegram_link import CODE_MINUTES, new_code
from ..services.auditing import record
from ..timeutil import utcnow, zone_label
from ..web.redirects import safe_next
from .common import blueprint, paginate, principal, session_

bp = blueprint("ui_notifications", __name__)

#: The choices of the preferences form, in the order shown.
CHOICES: tuple[tuple[str, Any], ...] = (
    (Delivery.EMAIL, _l("Email")),
    (Delivery.TELEGRAM, _l("Telegram")),
    (Delivery.INAPP, _l("Aplikasi saja")),
    (Delivery.OFF, _l("Mati")),
)
TIMING_CHOICES: tuple[tuple[str, Any], ...] = (
    (Timing.IMMEDIATE, _l("Segera")),
    (Timing.DIGEST, _l("Ringkasan")),
)
TIMINGS = frozenset(value for value, _label in TIMING_CHOICES)
PAGE_SIZE = 25


def _mine(user_id: int) -> Any:
    """The user's in-app notifications (the columns of ``ix_notification_user_unread``)."""
    return (Notification.user_id == user_id, Notification.delivery == Delivery.INAPP)


def unread_count(s: Session, user_id: int) -> int:
    """The user's unread in-app notifications: one indexed COUNT."""
    return int(s.scalar(select(func.count(Notification.id)).where(
        *_mine(user_id), Notification.read_at.is_(None))) or 0)


def _zone(s: Session, user_id: int) -> str:
    """The zone of the user's (first) OPD, else WIB."""
    return person_zones(s, [user_id]).get(user_id, DEFAULT_ZONE)


def follow(link: str | None) -> str | None:
    """A notification's link when it is a plain path on this site, else None."""
    return safe_next(link)


@bp.get("/notifikasi")
def index() -> str:
    """Newest first, paged; unread ones highlighted."""
    s, p = session_(), principal()
    query = select(Notification).where(*_mine(p.user_id)).order_by(
        Notification.created_at.desc(), Notification.id.desc())
    count = select(func.count(Notification.id)).where(*_mine(p.user_id))
    page = paginate(s, query, size=PAGE_SIZE, count=count)
    return render_template("ui/notifications.html", view="list", page=page,
                           zone=_zone(s, p.user_id), unread=unread_count(s, p.user_id),
                           follow=follow)


@bp.post("/notifikasi/<id:notification_id>/baca")
def read(notification_id: int) -> Response:
    """Mark one of the user's own notifications read and go to its link."""
    s, p = session_(), principal()
    row = s.scalar(select(Notification).where(Notification.id == notification_id,
                                              *_mine(p.user_id)))
    if row is None:
        abort(404)
    if row.read_at is None:
        row.read_at = utcnow()
    target = follow(row.link)
    s.commit()
    return redirect(target or url_for("ui_notifications.index"))


@bp.post("/notifikasi/baca-semua")
def read_all() -> Response:
    """Mark every unread notification of the user read."""
    s, p = session_(), principal()
    s.execute(update(Notification).where(*_mine(p.user_id), Notification.read_at.is_(None))
              .values(read_at=utcnow()))
    s.commit()
    flash(_("Semua notifikasi ditandai sudah dibaca."), "success")
    return redirect(url_for("ui_notifications.index"))


def _language() -> str:
    return str(get_locale() or "id")


def _chosen(s: Session, user_id: int) -> dict[str, tuple[str, str]]:
    """Kind -> (delivery, timing): the user's rows, else each kind's default, at once."""
    rows = {kind: (delivery, timing) for kind, delivery, timing in s.execute(
        select(NotificationPreference.kind, NotificationPreference.delivery,
               NotificationPreference.timing)
        .where(NotificationPreference.user_id == user_id))}
    return {name: rows.get(name) or (str(kind.default), str(Timing.IMMEDIATE))
            for name, kind in KINDS.items()}


def _telegram_on() -> bool:
    return bool(get_runtime().settings.telegram_bot_token)


def _read_form(chosen: dict[str, tuple[str, str]]) -> tuple[dict[str, tuple[str, str]],
                                                            int | None, list[str]]:
    """The posted choices (kinds left out of the form keep theirs), the digest hour and the
    problems found."""
    valid = {value for value, _label in _choices()}
    problems: list[str] = []
    wanted: dict[str, tuple[str, str]] = {}
    for name in KINDS:
        delivery = request.form.get(f"pref-{name}")
        timing = request.form.get(f"timing-{name}")
        if delivery is None and timing is None:
            continue
        delivery = delivery if delivery is not None else chosen[name][0]
        timing = timing if timing is not None else chosen[name][1]
        if delivery not in valid or timing not in TIMINGS:
            problems.append(str(KINDS[name].label.get(_language()) or KINDS[name].label["id"]))
        wanted[name] = (delivery, timing)
    hour: int | None = None
    raw_hour = request.form.get("digest_hour")
    if raw_hour is not None:
        hour = int(raw_hour) if raw_hour.isdigit() and int(raw_hour) < 24 else -1
    return wanted, hour, problems


def _choices() -> tuple[tuple[str, Any], ...]:
    return CHOICES if _telegram_on() else tuple(c for c in CHOICES if c[0] != Delivery.TELEGRAM)


@bp.route("/notifikasi/pengaturan", methods=["GET", "POST"])
def preferences() -> Any:
    """Per kind: email, Telegram, in-app only or off, at once or in the daily digest; the
    digest hour; the linked Telegram chat."""
    s, p = session_(), principal()
    chosen = _chosen(s, p.user_id)
    user = s.get(User, p.user_id)
    if user is None:
        abort(404)
    status = 200
    if request.method == "POST":
        wanted, hour, problems = _read_form(chosen)
        if problems or hour == -1:
            if problems:
                flash(_("Pilihan tidak dikenal untuk: %(kinds)s.", kinds=", ".join(problems)),
                      "error")
            if hour == -1:
                flash(_("Jam ringkasan harus 0 sampai 23."), "error")
            status = 422
        else:
            existing = {row.kind: row for row in s.scalars(select(NotificationPreference).where(
                NotificationPreference.user_id == p.user_id))}
            for name, (delivery, timing) in wanted.items():
                if name in existing:
                    existing[name].delivery, existing[name].timing = delivery, timing
                else:
                    s.add(NotificationPreference(user_id=p.user_id, kind=name,
                                                 delivery=delivery, timing=timing))
            detail: dict[str, Any] = {name: d for name, (d, _t) in wanted.items()}
            detail["timing"] = {name: t for name, (_d, t) in wanted.items()}
            if hour is not None:
                user.digest_hour = hour
                detail["digest_hour"] = hour
            record(s, p, "user.notification_preferences", detail=detail)
            s.commit()
            flash(_("Pengaturan notifikasi disimpan."), "success")
            return redirect(url_for("ui_notifications.preferences"))
    return _render_preferences(s, user, chosen), status


def _render_preferences(s: Session, user: User, chosen: dict[str, tuple[str, str]],
                        code: str | None = None) -> str:
    language = _language()
    admin = principal().is_admin
    kinds = [(name, kind.label.get(language) or kind.label["id"]) for name, kind in KINDS.items()
             if admin or not kind.ppid_utama_only]
    zone = _zone(s, user.id)
    settings = get_runtime().settings
    bot = settings.telegram_bot_username
    return render_template(
        "ui/notifications.html", view="preferences", kinds=kinds, chosen=chosen,
        choices=_choices(), timings=TIMING_CHOICES, has_email=bool((user.email or "").strip()),
        digest_hour=user.digest_hour, zone_label=zone_label(zone),
        telegram_on=_telegram_on(), telegram_chat=user.telegram_chat_id,
        telegram_title=user.telegram_chat_title, bot_username=bot, code=code,
        code_minutes=CODE_MINUTES,
        deep_link=f"https://t.me/{bot}?start={code}" if bot and code else None)


@bp.post("/notifikasi/telegram/kode")
def telegram_code() -> Any:
    """A fresh one-time code to send to the bot; shown once, only its hash is kept."""
    s, p = session_(), principal()
    if not _telegram_on():
        flash(_("Telegram belum diaktifkan oleh admin layanan."), "error")
        return redirect(url_for("ui_notifications.preferences"))
    user = s.get(User, p.user_id)
    if user is None:
        abort(404)
    code = new_code(s, p.user_id)
    record(s, p, "user.telegram_code_created", detail={"expires_minutes": CODE_MINUTES})
    s.commit()
    page = _render_preferences(s, user, _chosen(s, p.user_id), code=code)
    return page, 200, {"Cache-Control": "no-store"}


@bp.post("/notifikasi/telegram/putus")
def telegram_unlink() -> Response:
    """Stop sending to the linked chat (its pending messages fail with the reason)."""
    s, p = session_(), principal()
    user = s.get(User, p.user_id)
    if user is None:
        abort(404)
    if user.telegram_chat_id:
        user.telegram_chat_id, user.telegram_chat_title = None, ""
        s.execute(update(Notification).where(
            Notification.user_id == p.user_id, Notification.delivery == Delivery.TELEGRAM,
            Notification.status.in_((NotificationStatus.PENDING, NotificationStatus.RETRYING,
                                     NotificationStatus.DIGEST)))
            .values(status=NotificationStatus.FAILED,
                    last_error="Chat Telegram diputus oleh pemiliknya."))
        record(s, p, "user.telegram_unlinked")
        s.commit()
        flash(_("Chat Telegram tidak lagi terhubung."), "success")
    return redirect(url_for("ui_notifications.preferences"))
