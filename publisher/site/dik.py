"""The public Daftar Informasi yang Dikecualikan per OPD and for the whole Pemda: *that*
something is closed, on which legal basis and until when, with its berita acara — never the
exempted information itself — and the page a berita acara's QR code opens, which tells
whether that document is genuine and still in force."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from ..app import db_session, get_runtime
from ..dik_documents import CONCLUSION_LABELS, berita_acara_pdf, penetapan_pdf
from ..models import DikEntry, DikStatus, DikVersion, Opd
from ..register import long_date
from ..services import dik_docs
from ..services.dik import APPROVED_JOIN, version_of
from ..services.dik import version_hash as dik_version_hash
from ..services.errors import ServiceError
from .common import install, local_time, opd_or_404

bp = Blueprint("site_dik", __name__)
install(bp)

#: Entries the public list shows: in force, and what was reopened or ended (Monev asks).
_SHOWN = (DikStatus.IN_FORCE, DikStatus.OPENED, DikStatus.ENDED)
STATE_LABELS = {"berlaku": "Berlaku", "diganti": "Diganti oleh uji konsekuensi yang lebih baru",
                "berakhir": "Jangka waktu berakhir", "dibuka": "Dibuka untuk publik"}


@dataclass(frozen=True)
class PublicRow:
    """One line of the public DIK."""

    entry: DikEntry
    version: DikVersion
    opd: Opd
    period: str
    review: str
    conclusion: str


def _rows(opd_ids: list[int] | None) -> list[PublicRow]:
    query = (select(DikEntry, DikVersion, Opd)
             .join(DikVersion, APPROVED_JOIN)
             .join(Opd, Opd.id == DikEntry.opd_id)
             .where(DikEntry.status.in_(_SHOWN)).order_by(Opd.name, DikEntry.id))
    if opd_ids is not None:
        query = query.where(DikEntry.opd_id.in_(opd_ids))
    return [PublicRow(e, v, o, dik_docs.period_text(v),
                      long_date(v.review_date) if v.review_date else "",
                      CONCLUSION_LABELS.get(v.conclusion, v.conclusion))
            for e, v, o in db_session().execute(query)]


def _page(opd: Opd | None) -> str:
    rows = _rows([opd.id] if opd is not None else None)
    return render_template(
        "site/dik.html", opd=opd,
        in_force=[r for r in rows if r.entry.status == DikStatus.IN_FORCE],
        reopened=[r for r in rows if r.entry.status != DikStatus.IN_FORCE])


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@bp.get("/o/<opd_slug>/dik")
def opd_dik(opd_slug: str) -> str:
    """The DIK of one OPD."""
    return _page(opd_or_404(opd_slug))


@bp.get("/dik")
def pemda_dik() -> str:
    """The DIK of every OPD."""
    return _page(None)


@bp.get("/o/<opd_slug>/dik/penetapan.pdf")
def opd_penetapan(opd_slug: str) -> Response:
    """The penetapan DIK of one OPD (every entry in force)."""
    opd = opd_or_404(opd_slug)
    try:
        doc = dik_docs.penetapan_of(db_session(), opd, get_runtime().settings.public_base_url)
    except ServiceError:
        abort(404)
    return _pdf(penetapan_pdf(doc), f"penetapan-dik-{opd.slug}.pdf")


@bp.get("/dik/<id:entry_id>/v<int:number>/berita-acara.pdf")
def berita_acara(entry_id: int, number: int) -> Response:
    """The berita acara of an approved (or since replaced) version."""
    entry = db_session().get(DikEntry, entry_id)
    if entry is None or entry.approved_version is None:
        abort(404)
    try:
        version = version_of(entry, number)
        doc = dik_docs.berita_acara_of(db_session(), entry, version,
                                       get_runtime().settings.public_base_url)
    except ServiceError:
        abort(404)
    if version.content_hash and dik_version_hash(version) != version.content_hash:
        return Response(render_template("site/dik_altered.html", entry=entry, version=version,
                                        opd=entry.opd), status=409)
    return _pdf(berita_acara_pdf(doc), f"berita-acara-dik-{entry.id}-v{version.version}.pdf")


@bp.get("/dik/v/<short_hash>")
def verify(short_hash: str) -> str:
    """What a berita acara's QR code opens: is this document genuine, and in force?"""
    try:
        entry, version = dik_docs.by_short_hash(db_session(), short_hash)
    except ServiceError:
        abort(404)
    if dik_version_hash(version) != version.content_hash:
        # The signed text was changed after the pengesahan (outside the software): say so,
        # and never present the altered text as the document that was signed.
        return render_template("site/dik_altered.html", entry=entry, version=version,
                               opd=entry.opd), 409  # type: ignore[return-value]
    settings = get_runtime().settings
    pdf = berita_acara_pdf(dik_docs.berita_acara_of(db_session(), entry, version,
                                                    settings.public_base_url))
    state = dik_docs.version_state(entry, version)
    current = version_of(entry, entry.approved_version) if entry.approved_version else None
    return render_template(
        "site/dik_verify.html", entry=entry, version=version, opd=entry.opd, state=state,
        state_label=STATE_LABELS[state], pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        period=dik_docs.period_text(version),
        conclusion=CONCLUSION_LABELS.get(version.conclusion, version.conclusion),
        approved=local_time(version.approved_at, entry.opd.timezone),
        current=current if current is not None and current.id != version.id else None)
