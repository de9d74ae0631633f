"""Notifikasi: the signed-in user's in-app notifications (the bell), marking them read, and
the per-kind delivery preferences (email and in-app, in-app only, or off)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ..models import Delivery, Membership, Notification, NotificationPreference, Opd, User
from ..notify.kinds import KINDS
from ..services.auditing import record
from ..timeutil import utcnow
from ..web.redirects import safe_next
from .common import blueprint, paginate, principal, session_

bp = blueprint("ui_notifications", __name__)

DEFAULT_ZONE = "Asia/Jakarta"
#: The choices of the preferences form, in the order shown.
CHOICES: tuple[tuple[str, Any], ...] = (
    (Delivery.EMAIL, _l("Email dan di aplikasi")),
    (Delivery.INAPP, _l("Hanya di aplikasi")),
    (Delivery.OFF, _l("Mati")),
)
VALID = frozenset(value for value, _label in CHOICES)
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
    zone = s.scalar(select(Opd.timezone).join(Membership, Membership.opd_id == Opd.id)
                    .where(Membership.user_id == user_id).order_by(Opd.id).limit(1))
    return zone or DEFAULT_ZONE


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


def _chosen(s: Session, user_id: int) -> dict[str, str]:
    """Kind -> delivery: the user's rows, else each kind's default."""
    rows: dict[str, str] = {kind: delivery for kind, delivery in s.execute(
        select(NotificationPreference.kind, NotificationPreference.delivery)
        .where(NotificationPreference.user_id == user_id))}
    return {name: rows.get(name) or str(kind.default) for name, kind in KINDS.items()}


@bp.route("/notifikasi/pengaturan", methods=["GET", "POST"])
def preferences() -> Any:
    """Per kind: email (and in-app), in-app only, or off."""
    s, p = session_(), principal()
    chosen = _chosen(s, p.user_id)
    status = 200
    if request.method == "POST":
        wanted = {name: request.form.get(f"pref-{name}", "") for name in KINDS}
        if any(value not in VALID for value in wanted.values()):
            flash(_("Pilihan tidak dikenal."), "error")
            chosen.update({k: v for k, v in wanted.items() if v in VALID})
            status = 422
        else:
            existing = {row.kind: row for row in s.scalars(select(NotificationPreference).where(
                NotificationPreference.user_id == p.user_id))}
            for name, value in wanted.items():
                if name in existing:
                    existing[name].delivery = value
                else:
                    s.add(NotificationPreference(user_id=p.user_id, kind=name, delivery=value))
            record(s, p, "user.notification_preferences", detail=dict(wanted))
            s.commit()
            flash(_("Pengaturan notifikasi disimpan."), "success")
            return redirect(url_for("ui_notifications.preferences"))
    language = _language()
    kinds = [(name, kind.label.get(language) or kind.label["id"]) for name, kind in KINDS.items()]
    email = s.scalar(select(User.email).where(User.id == p.user_id)) or ""
    return render_template("ui/notifications.html", view="preferences", kinds=kinds,
                           chosen=chosen, choices=CHOICES,
                           has_email=bool(email.strip())), status
