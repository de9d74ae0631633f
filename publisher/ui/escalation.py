"""Aturan eskalasi (/admin/pengawasan/eskalasi): the PPID Utama sets when the hourly checks
escalate to them (berkala overdue, approval waiting, channel held). Admin only."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from ..notify import escalation
from ..services.errors import ServiceError
from .common import blueprint, principal, session_

bp = blueprint("ui_escalation", __name__)

LABELS: dict[str, Any] = {
    escalation.BERKALA_OVERDUE_DAYS: _l("Informasi berkala terlambat diperbarui lebih dari"),
    escalation.APPROVAL_WAIT_HOURS: _l("Informasi menunggu persetujuan lebih dari"),
    escalation.CHANNEL_HELD_HOURS: _l("Saluran ditahan (perlu disambungkan ulang) lebih dari"),
}
UNITS: dict[str, Any] = {
    escalation.BERKALA_OVERDUE_DAYS: _l("hari"),
    escalation.APPROVAL_WAIT_HOURS: _l("jam"),
    escalation.CHANNEL_HELD_HOURS: _l("jam"),
}


@bp.before_request
def _admins_only() -> None:
    if not principal().is_admin:
        abort(403)


def _page(values: dict[str, tuple[bool, str]], errors: dict[str, str], code: int = 200
          ) -> tuple[str, int]:
    rows = [{"name": name, "label": str(LABELS[name]), "unit": str(UNITS[name]),
             "enabled": values[name][0], "threshold": values[name][1],
             "default": escalation.DEFAULTS[name], "error": errors.get(name, "")}
            for name in escalation.RULES]
    return render_template(
        "ui/escalation.html", rules=rows, low=escalation.MIN_THRESHOLD,
        high=escalation.MAX_THRESHOLD, oversight_url=url_for("ui_oversight.index")), code


@bp.get("/pengawasan/eskalasi")
def index() -> tuple[str, int]:
    """The three rules, each with its switch and threshold."""
    rules = escalation.load(session_())
    return _page({n: (r.enabled, str(r.threshold)) for n, r in rules.items()}, {})


@bp.post("/pengawasan/eskalasi")
def save() -> Response | tuple[str, int]:
    """Save every rule at once; a bad number stores nothing and shows the form again."""
    s, p = session_(), principal()
    form = request.form
    changes = {name: (form.get(f"{name}-enabled") == "1", form.get(f"{name}-threshold", ""))
               for name in escalation.RULES}
    try:
        escalation.save(s, p, changes)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(_("Aturan eskalasi tidak disimpan: %(e)s", e=exc.message), "error")
        values = {n: (enabled, str(raw)[:20]) for n, (enabled, raw) in changes.items()}
        return _page(values, {exc.field: exc.message} if exc.field else {}, 422)
    flash(_("Aturan eskalasi disimpan."), "success")
    return redirect(url_for("ui_escalation.index"))
