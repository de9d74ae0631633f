"""Layanan notifikasi (/admin/notifikasi/layanan): for the service admin, the health of email
(SMTP) and the Telegram bot: settings (no secrets), the queue, the latest error in words, and
a check on demand."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from ..models import Delivery
from ..notify import service_health
from ..services.auditing import record
from .common import blueprint, principal, session_

bp = blueprint("ui_notification_services", __name__)

@bp.before_request
def _admins_only() -> None:
    if not principal().is_admin:
        abort(403)


@bp.get("/notifikasi/layanan")
def index() -> str:
    """Email and Telegram side by side."""
    rows = service_health.delivery_health(session_(), g.runtime.settings)
    # A Pemda-wide page: times in the Pemda's zone (PUBLISHER_TIMEZONE).
    return render_template("ui/notification_services.html", rows=rows,
                           zone=g.runtime.settings.timezone)


@bp.post("/notifikasi/layanan/<any(email, telegram):delivery>/periksa")
def check(delivery: str) -> Response:
    """Connect as a send would (no session open meanwhile), keep and show the result."""
    p = principal()
    session_().rollback()  # end the request's transaction: no session across the network call
    probe = service_health.check(g.runtime.settings, Delivery(delivery))
    s = session_()
    service_health.store(s, delivery, probe)
    record(s, p, "notification_service.checked", result="ok" if probe.ok else "failed",
           detail={"delivery": delivery})
    s.commit()
    flash(_("Pemeriksaan berhasil: %(m)s", m=probe.message) if probe.ok
          else _("Pemeriksaan gagal: %(m)s", m=probe.message), "success" if probe.ok else "error")
    return redirect(url_for("ui_notification_services.index"))
