"""DIK in the admin UI: the list of an OPD's exempted information, the entry form with its uji
konsekuensi table, the signature chain (submit, pengesahan, return) and the documents."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from ..app import get_runtime
from ..dik_documents import CONCLUSION_LABELS
from ..models import (
    EXEMPTION_ARTICLES,
    DikConclusion,
    DikStatus,
    DikVersionStatus,
    Role,
    User,
)
from ..services import days_off as days_off_service
from ..services import dik, dik_docs
from ..services.errors import Invalid, ServiceError
from ..web.ids import parse_id
from .common import (
    arg_int,
    attempt,
    blueprint,
    editable_opds,
    principal,
    session_,
    visible_opds,
)

bp = blueprint("ui_dik", __name__)

DIK_STATUS_LABELS: dict[str, Any] = {
    DikStatus.DRAFT: _l("draf"),
    DikStatus.SUBMITTED: _l("menunggu pengesahan"),
    DikStatus.RETURNED: _l("dikembalikan"),
    DikStatus.IN_FORCE: _l("berlaku"),
    DikStatus.OPENED: _l("dibuka"),
    DikStatus.ENDED: _l("berakhir"),
    DikVersionStatus.APPROVED: _l("disahkan"),
    DikVersionStatus.SUPERSEDED: _l("diganti"),
}
#: The form's fields in the order of the Perki 1/2021 sheet.
TEXT_FIELDS = ("title", "description", "documents", "legal_basis", "holder_unit",
               "until_event", "harm", "public_interest", "weighing", "place")
DATE_FIELDS = ("period_start", "period_end", "review_date", "test_date")


def _form_data() -> dict[str, Any]:
    form = request.form
    data: dict[str, Any] = {name: form.get(name, "") for name in TEXT_FIELDS}
    data.update({name: form.get(name, "") for name in DATE_FIELDS})
    data["article"] = form.get("article", "")
    data["conclusion"] = form.get("conclusion", DikConclusion.CLOSED)
    data["members"] = form.get("members", "")
    return data


def _render_form(entry: Any = None, values: dict[str, Any] | None = None,
                 error_field: str | None = None, status: int = 200) -> tuple[str, int]:
    s, p = session_(), principal()
    version = dik.version_of(entry) if entry is not None else None
    v = dict(values or {})
    if version is not None and not values:
        v = {name: getattr(version, name) or "" for name in (*TEXT_FIELDS, "article",
                                                               "conclusion")}
        v.update({name: getattr(version, name).isoformat() if getattr(version, name) else ""
                  for name in DATE_FIELDS})
        v["members"] = "\n".join(version.members or [])
    return render_template(
        "ui/dik_form.html", entry=entry, version=version, v=v, opds=editable_opds(s, p),
        opd_id=entry.opd_id if entry else arg_int("opd"), articles=EXEMPTION_ARTICLES,
        conclusions=CONCLUSION_LABELS, error_field=error_field), status


@bp.get("/dik")
def index() -> str:
    """Entries of the user's OPDs, with reviews that are due."""
    s, p = session_(), principal()
    opd_id = arg_int("opd")
    status = request.args.get("status") or None
    if status is not None and status not in set(DikStatus):
        status = None
    entries = dik.list_entries(s, p, opd_id, status)
    opds = visible_opds(s, p)
    offices = dik.designations(s, [o.id for o in opds])
    people = list(s.scalars(select(User).where(User.is_active.is_(True))
                            .order_by(User.full_name))) if p.is_admin else []
    return render_template(
        "ui/dik_list.html", entries=entries, opds=opds, opd_id=opd_id, offices=offices,
        people=people,
        status=status, statuses=list(DikStatus), labels=DIK_STATUS_LABELS,
        reviews=dik.reviews_due(
            s, p, working_days=get_runtime().settings.dik_review_notice_days),
        can_draft=bool(editable_opds(s, p)))


@bp.get("/dik/baru")
def new() -> tuple[str, int]:
    """An empty entry form."""
    if not editable_opds(session_(), principal()):
        abort(403)
    return _render_form()


@bp.post("/dik/baru")
def create() -> Any:
    """Draft a new entry."""
    s, p = session_(), principal()
    data = _form_data()
    try:
        entry = dik.create_entry(s, p, parse_id(request.form.get("opd")) or 0, data)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        return _render_form(None, data, exc.field, 422)
    flash(_("Draf DIK disimpan."), "success")
    return redirect(url_for("ui_dik.show", entry_id=entry.id))


@bp.get("/dik/<id:entry_id>")
def show(entry_id: int) -> str:
    """One entry: its uji konsekuensi versions and signature chain."""
    s, p = session_(), principal()
    try:
        entry = dik.get_entry(s, p, entry_id)
    except ServiceError:
        abort(404)
    office = dik.designation(s, entry.opd_id)
    latest = dik.version_of(entry)
    is_atasan = office is not None and office.user_id == p.user_id
    return render_template(
        "ui/dik_detail.html", entry=entry, latest=latest, office=office,
        labels=DIK_STATUS_LABELS, conclusions=CONCLUSION_LABELS,
        can_edit=p.has_role(entry.opd_id, Role.EDITOR, Role.APPROVER) and latest.status in (
            DikVersionStatus.DRAFT, DikVersionStatus.RETURNED),
        can_submit=p.has_role(entry.opd_id, Role.APPROVER) and latest.status in (
            DikVersionStatus.DRAFT, DikVersionStatus.RETURNED),
        can_approve=is_atasan and latest.status == DikVersionStatus.SUBMITTED,
        can_retest=p.has_role(entry.opd_id, Role.EDITOR, Role.APPROVER)
        and entry.approved_version is not None
        and entry.latest_version == entry.approved_version,
        period=dik_docs.period_text,
        verify_path=dik_docs.verify_path)


@bp.get("/dik/<id:entry_id>/ubah")
def edit(entry_id: int) -> tuple[str, int]:
    """The form of the newest version (a draft or returned)."""
    s, p = session_(), principal()
    try:
        entry = dik.get_entry(s, p, entry_id)
    except ServiceError:
        abort(404)
    return _render_form(entry)


@bp.post("/dik/<id:entry_id>/ubah")
def save(entry_id: int) -> Any:
    """Save the draft."""
    s, p = session_(), principal()
    data = _form_data()
    try:
        entry = dik.update_draft(s, p, entry_id, data)
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        try:
            entry = dik.get_entry(s, p, entry_id)
        except ServiceError:
            abort(404)
        return _render_form(entry, data, exc.field, 422)
    flash(_("Draf DIK disimpan."), "success")
    return redirect(url_for("ui_dik.show", entry_id=entry.id))


def _step(entry_id: int, action: Any, *args: Any, done: str) -> BaseResponse:
    """A chain step; an approval refused for the separation of duties is audited."""
    s, p = session_(), principal()
    s.rollback()  # the step runs in a transaction of its own (see dik.run_guarded)
    try:
        dik.run_guarded(get_runtime().db, p, action, entry_id, *args)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "success")
    return redirect(url_for("ui_dik.show", entry_id=entry_id))


@bp.post("/dik/<id:entry_id>/ajukan")
def submit(entry_id: int) -> BaseResponse:
    """The PPID Pelaksana signs and submits."""
    return _step(entry_id, dik.submit, done=_("Uji konsekuensi diajukan untuk pengesahan."))


@bp.post("/dik/<id:entry_id>/sahkan")
def approve(entry_id: int) -> BaseResponse:
    """Pengesahan by the atasan PPID."""
    return _step(entry_id, dik.approve, done=_("Uji konsekuensi disahkan dan berlaku."))


@bp.post("/dik/<id:entry_id>/kembalikan")
def return_(entry_id: int) -> BaseResponse:
    """Return with a comment."""
    return _step(entry_id, dik.return_version, request.form.get("comment", ""),
                 done=_("Uji konsekuensi dikembalikan."))


@bp.post("/dik/<id:entry_id>/uji-ulang")
def retest(entry_id: int) -> BaseResponse:
    """Start a new version from the one in force."""
    s, p = session_(), principal()
    if attempt(lambda: dik.retest(s, p, entry_id, {}),
               _("Versi baru dibuat dari versi yang berlaku: ubah lalu ajukan.")) is not None:
        return redirect(url_for("ui_dik.edit", entry_id=entry_id))
    return redirect(url_for("ui_dik.show", entry_id=entry_id))


@bp.post("/informasi/<id:item_id>/dik")
def link(item_id: int) -> BaseResponse:
    """Point an item at the DIK entry that exempts it (or mark its blacked-out version)."""
    s, p = session_(), principal()
    entry_id = parse_id(request.form.get("entry_id")) or 0
    redacted = request.form.get("redacted") == "1"
    attempt(lambda: dik.link_item(s, p, item_id, entry_id, redacted),
            _("Informasi ditautkan ke entri DIK."))
    return redirect(url_for("ui_detail.show", item_id=item_id))


@bp.post("/informasi/<id:item_id>/reklasifikasi")
def reclassify(item_id: int) -> BaseResponse:
    """Reclassify an item whose DIK entry ended or was opened."""
    s, p = session_(), principal()
    attempt(lambda: dik.unlink_item(s, p, item_id, request.form.get("category", "")),
            _("Informasi direklasifikasi."))
    return redirect(url_for("ui_detail.show", item_id=item_id))


@bp.get("/hari-libur")
def days_off() -> str:
    """The Pemda's working-day calendar of a year: its own days off and days worked, and the
    national holidays and cuti bersama it reads from the ``holidays`` package."""

    year = arg_int("tahun") or date.today().year
    try:
        days = days_off_service.list_days(session_(), year)
    except ServiceError as exc:
        flash(exc.message, "error")
        year, days = date.today().year, days_off_service.list_days(session_(), date.today().year)
    return render_template("ui/days_off.html", year=year, days=days,
                           kinds=days_off_service.KIND_LABELS, weekday=days_off_service.day_name,
                           can_edit=principal().is_admin)


@bp.post("/hari-libur")
def add_day_off() -> BaseResponse:
    """Admin: add a Pemda day off (or a day worked)."""
    s, p = session_(), principal()

    def add() -> Any:
        try:
            day = date.fromisoformat(request.form.get("day", ""))
        except ValueError:
            raise Invalid("tanggal tidak valid (YYYY-MM-DD)", field="date") from None
        return days_off_service.add_day_off(s, p, day, request.form.get("name", ""),
                                           working=request.form.get("working") == "1")

    attempt(add, _("Hari dicatat."))
    return redirect(url_for("ui_dik.days_off", tahun=request.form.get("day", "")[:4] or None))


@bp.post("/hari-libur/<day>/hapus")
def remove_day_off(day: str) -> BaseResponse:
    """Admin: remove a Pemda row."""
    s, p = session_(), principal()
    try:
        when = date.fromisoformat(day)
    except ValueError:
        abort(404)
    attempt(lambda: days_off_service.remove_day_off(s, p, when), _("Hari dihapus."))
    return redirect(url_for("ui_dik.days_off", tahun=when.year))


@bp.post("/dik/atasan")
def designate() -> BaseResponse:
    """Admin: name an OPD's atasan PPID (who approves its DIK)."""
    s, p = session_(), principal()
    user_id = parse_id(request.form.get("user_id")) or 0
    attempt(lambda: dik.designate(s, p, parse_id(request.form.get("opd")) or 0, user_id,
                                  request.form.get("jabatan", "")),
            _("Atasan PPID ditetapkan."))
    return redirect(url_for("ui_dik.index"))


@bp.get("/dik/<id:entry_id>/berita-acara.pdf")
def berita_acara(entry_id: int) -> BaseResponse:
    """The berita acara PDF of a version (default: the one in force)."""
    s, p = session_(), principal()
    try:
        doc = dik_docs.berita_acara(s, p, get_runtime().settings.public_base_url, entry_id,
                                    arg_int("versi"))
        s.commit()
    except ServiceError as exc:
        s.rollback()
        flash(exc.message, "error")
        return redirect(url_for("ui_dik.show", entry_id=entry_id))
    response = Response(doc.data, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{doc.filename}"'
    return response
