"""Detail informasi: the item, its versions, approval, publications and audit timeline;
and the actions on it (submit, approve, return, reschedule, cancel)."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from ..models import AuditEvent, ItemVersion, Publication, Role, User
from ..services import items as item_service
from ..services import publications as pub_service
from ..services.errors import ServiceError
from .common import attempt, back, blueprint, principal, session_
from .explain import explain, where_to_check

bp = blueprint("ui_detail", __name__)


@bp.get("/informasi/<id:item_id>")
def show(item_id: int) -> Any:
    """Everything about one item."""
    s, p = session_(), principal()
    try:
        item = item_service.get_item(s, p, item_id)
    except ServiceError:
        abort(404)
    pubs = list(s.scalars(select(Publication).where(Publication.item_id == item.id)
                          .options(selectinload(Publication.channel)).order_by(Publication.id)))
    versions = list(s.scalars(select(ItemVersion).where(ItemVersion.item_id == item.id)
                              .order_by(ItemVersion.version.desc())))
    events = list(s.scalars(select(AuditEvent).where(AuditEvent.item_id == item.id)
                            .order_by(AuditEvent.seq)))
    user_ids = {i for i in (item.created_by_id, item.approved_by_id) if i}
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(user_ids)))}
    can_edit = p.has_role(item.opd_id, Role.EDITOR, Role.APPROVER)
    can_approve = p.has_role(item.opd_id, Role.APPROVER)
    own = item.created_by_id == p.user_id
    from ..models import DikEntry

    dik_entries = list(s.scalars(select(DikEntry).where(DikEntry.opd_id == item.opd_id)
                                 .order_by(DikEntry.id.desc()))) if can_edit else []
    return render_template(
        "ui/detail.html", item=item, pubs=pubs, versions=versions, events=events, users=users,
        can_edit=can_edit, can_approve=can_approve, own=own, explain=explain,
        where_to_check=where_to_check,
        dik_entries=dik_entries,
        pub_urls={pub.id: pub.url for pub in pubs if pub.url},
    )


def _settings() -> Any:
    from flask import g

    return g.runtime.settings


def _go(item_id: int) -> Response:
    return back("ui_detail.show", item_id=item_id)


@bp.post("/informasi/<id:item_id>/ajukan")
def submit(item_id: int) -> Response:
    """Send a draft for approval."""
    s, p = session_(), principal()
    attempt(lambda: item_service.submit_item(s, p, _settings(), item_id),
            _("Diajukan untuk persetujuan."))
    return _go(item_id)


@bp.post("/informasi/<id:item_id>/setujui")
def approve(item_id: int) -> Response:
    """Approve (never your own draft) and schedule the publications."""
    s, p = session_(), principal()
    attempt(lambda: item_service.approve_item(s, p, _settings(), item_id,
                                              request.form.get("comment", "").strip()),
            _("Disetujui: publikasi dijadwalkan."))
    return _go(item_id)


@bp.post("/informasi/<id:item_id>/kembalikan")
def return_(item_id: int) -> Response:
    """Send back to the drafter with a comment."""
    s, p = session_(), principal()
    attempt(lambda: item_service.return_item(s, p, _settings(), item_id,
                                             request.form.get("comment", "")),
            _("Dikembalikan ke penyusun."))
    return _go(item_id)


@bp.post("/informasi/<id:item_id>/jadwal")
def reschedule(item_id: int) -> Response:
    """Move the publications that have not started sending."""
    s, p = session_(), principal()
    mode = request.form.get("schedule_mode", "at")
    schedule = {"mode": mode, "at": request.form.get("schedule_at", "")}
    attempt(lambda: item_service.reschedule_item(s, p, _settings(), item_id, schedule),
            _("Jadwal diubah."))
    return _go(item_id)


@bp.post("/informasi/<id:item_id>/batalkan")
def cancel(item_id: int) -> Response:
    """Cancel the item and whatever has not gone out."""
    s, p = session_(), principal()
    attempt(lambda: item_service.cancel_item(s, p, _settings(), item_id),
            _("Informasi dibatalkan."))
    return _go(item_id)


@bp.post("/publikasi/<id:pub_id>/kirim-ulang")
def retry(pub_id: int) -> Response:
    """Send a failed publication again."""
    s, p = session_(), principal()
    attempt(lambda: pub_service.retry_publication(s, p, pub_id),
            _("Publikasi dijadwalkan untuk dikirim ulang sekarang."))
    return back("ui_queue.index")


@bp.post("/publikasi/<id:pub_id>/batalkan")
def cancel_publication(pub_id: int) -> Response:
    """Cancel one publication."""
    s, p = session_(), principal()
    attempt(lambda: pub_service.cancel_publication(s, p, pub_id), _("Publikasi dibatalkan."))
    return back("ui_queue.index")


@bp.get("/informasi")
def index() -> Response:
    """The item list lives in the queue and calendar; keep the path useful."""
    return redirect(url_for("ui_queue.index"))
