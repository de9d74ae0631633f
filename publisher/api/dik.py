"""``/api/v1/dik``: the Daftar Informasi yang Dikecualikan — entries and their uji
konsekuensi versions (draft, submit, approve, return, re-test), the berita acara and penetapan
PDFs, the OPD's atasan PPID, and the link between an item and the entry that exempts it.

The blueprint sits at ``/api/v1`` because its paths span three areas (``/dik``,
``/opds/{opd}/dik`` and ``/items/{id}/dik``). Approving and returning run through
:func:`publisher.services.dik.run_guarded` in their own transaction (never the request's), so
a refused approval is audited even though the request answers 403.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..models import (
    EXEMPTION_ARTICLES,
    Category,
    Designation,
    DikConclusion,
    DikEntry,
    DikStatus,
    DikVersion,
    Item,
    Role,
)
from ..services import dik, dik_docs
from ..services import items as item_service
from ..web.ids import IdField
from . import common
from . import outputs as out
from .common import Bool, OpdRef, PageArgs, put_time
from .serialize import item_detail

blp = Blueprint("dik", __name__, url_prefix="/api/v1",
                description="Daftar Informasi yang Dikecualikan (DIK): uji konsekuensi, "
                            "pengesahan, berita acara dan penetapan")

f = ma.fields
_str = f.String

# --- request schemas ------------------------------------------------------------------------


def _text(limit: int, description: str) -> ma.fields.String:
    return _str(validate=ma.validate.Length(max=limit),
                metadata={"description": f"{description} (≤ {limit} karakter)"})


def _day(description: str) -> ma.fields.Date:
    return f.Date(allow_none=True, metadata={"description": f"{description} (YYYY-MM-DD)"})


class DikFieldsSchema(ma.Schema):
    """What a person writes in a version of the uji konsekuensi (Perki 1/2021)."""

    title = _text(300, "informasi yang dikecualikan")
    description = _text(5000, "uraian informasi")
    documents = _text(5000, "dokumen yang memuat informasi")
    article = _str(validate=ma.validate.OneOf(list(EXEMPTION_ARTICLES)),
                   metadata={"description": "huruf Pasal 17 UU 14/2008 (a–j)"})
    legal_basis = _text(2000, "dasar hukum pengecualian")
    holder_unit = _text(300, "unit penguasa informasi")
    period_start = _day("awal jangka waktu pengecualian")
    period_end = _day("akhir jangka waktu pengecualian")
    until_event = _text(300, "peristiwa yang mengakhiri pengecualian (tanpa tanggal akhir)")
    review_date = _day("tanggal peninjauan")
    harm = _text(10000, "konsekuensi bila dibuka")
    public_interest = _text(10000, "kepentingan publik bila dibuka")
    weighing = _text(10000, "pertimbangan")
    conclusion = _str(validate=ma.validate.OneOf([c.value for c in DikConclusion]),
                      metadata={"description": "ditutup | dibuka | dibuka_sebagian"})
    members = f.List(_str(validate=ma.validate.Length(max=300)),
                     validate=ma.validate.Length(max=dik.MEMBERS_MAX),
                     metadata={"description": "anggota uji konsekuensi (nama, jabatan)"})
    place = _text(200, "tempat uji konsekuensi")
    test_date = _day("tanggal uji konsekuensi")


class DikCreateSchema(DikFieldsSchema):
    """A new entry (version 1, a draft) in an OPD."""

    opd = OpdRef(required=True, metadata={"description": "id atau slug OPD"})
    title = _str(required=True, validate=ma.validate.Length(min=1, max=300),
                 metadata={"description": "informasi yang dikecualikan (≤ 300 karakter)"})
    article = _str(required=True, validate=ma.validate.OneOf(list(EXEMPTION_ARTICLES)),
                   metadata={"description": "huruf Pasal 17 UU 14/2008 (a–j)"})


class DikListArgs(PageArgs):
    """Filters of the DIK list."""

    opd = _str(metadata={"description": "id atau slug OPD"})
    status = _str(validate=ma.validate.OneOf([s.value for s in DikStatus]))


class ReturnSchema(ma.Schema):
    """Why the atasan PPID sends the version back."""

    comment = _str(required=True, validate=ma.validate.Length(min=1, max=5000))


class BeritaAcaraArgs(ma.Schema):
    """Which version's berita acara."""

    version = f.Integer(validate=ma.validate.Range(min=1, max=1_000_000),
                        metadata={"description": "nomor versi; bawaan: versi yang berlaku"})


class DesignateSchema(ma.Schema):
    """The OPD's atasan PPID (who approves its entries)."""

    user_id = IdField(strict=True, required=True)
    jabatan = _str(required=True, validate=ma.validate.Length(min=1, max=200),
                   metadata={"description": "mis. Kepala Dinas Kesehatan"})
    name = _str(validate=ma.validate.Length(max=200),
                metadata={"description": "bawaan: nama pengguna"})
    nip = _str(validate=ma.validate.Length(max=30), metadata={"description": "bawaan: NIP "
                                                                               "pengguna"})


class LinkSchema(ma.Schema):
    """The entry that exempts the item (or of which it is the blacked-out version)."""

    entry_id = IdField(strict=True, required=True)
    redacted = Bool(load_default=False, metadata={
        "description": "versi hitam (dibuka sebagian): tetap informasi terbuka"})


class UnlinkArgs(ma.Schema):
    """The item's new category once its entry no longer exempts it."""

    category = _str(required=True, validate=ma.validate.OneOf([c.value for c in Category]))


# --- response schemas -----------------------------------------------------------------------


def _timed(*names: str) -> dict[str, ma.fields.Field]:
    fields: dict[str, ma.fields.Field] = {}
    for name in names:
        fields[name] = _str(allow_none=True, metadata={"description": "ISO 8601, UTC"})
        fields[f"{name}_local"] = _str(allow_none=True,
                                       metadata={"description": "waktu setempat OPD + zona"})
    return fields


def _schema(name: str, fields: dict[str, Any]) -> type[ma.Schema]:
    return ma.Schema.from_dict(fields, name=name)


DikSignerOut = _schema("DikSignerOut", {
    "user_id": f.Integer(allow_none=True), "name": _str(), "nip": _str(), "jabatan": _str(),
    "title": _str(metadata={"description": "jabatan penandatangan dalam dokumen"}),
})
DikVersionOut = _schema("DikVersionOut", {
    "version": f.Integer(), "status": _str(),
    **{name: _str(allow_none=True) for name in (
        "title", "description", "documents", "article", "legal_basis", "holder_unit",
        "until_event", "harm", "public_interest", "weighing", "conclusion", "place")},
    **{name: _str(allow_none=True, metadata={"description": "YYYY-MM-DD"})
       for name in ("period_start", "period_end", "review_date", "test_date")},
    "members": f.List(_str()),
    "number": _str(metadata={"description": "nomor berita acara (setelah disahkan)"}),
    "content_hash": _str(metadata={"description": "SHA-256 isi dan tanda tangan"}),
    "drafted_by_id": f.Integer(allow_none=True),
    "submitter": f.Nested(DikSignerOut, allow_none=True),
    "approver": f.Nested(DikSignerOut, allow_none=True),
    "return_comment": _str(),
    **_timed("submitted_at", "approved_at", "created_at", "updated_at"),
})
_ENTRY_FIELDS: dict[str, Any] = {
    "id": f.Integer(), "opd_id": f.Integer(), "opd_slug": _str(), "status": _str(),
    "title": _str(metadata={"description": "judul versi terbaru"}),
    "approved_version": f.Integer(allow_none=True), "latest_version": f.Integer(),
    "conclusion": _str(allow_none=True), "created_by_id": f.Integer(allow_none=True),
    **_timed("created_at", "updated_at", "ended_at"),
}
DikEntryOut = _schema("DikEntryOut", _ENTRY_FIELDS)
DikEntryPage = _schema("DikEntryPage", {
    "items": f.List(f.Nested(DikEntryOut)), "page": f.Integer(), "per_page": f.Integer(),
    "total": f.Integer()})
DikEntryDetailOut = _schema("DikEntryDetailOut", {
    **_ENTRY_FIELDS, "versions": f.List(f.Nested(DikVersionOut)),
    "item_ids": f.List(f.Integer(), metadata={"description": "informasi yang tertaut"}),
})
DesignationOut = _schema("DesignationOut", {
    "opd_id": f.Integer(), "office": _str(), "user_id": f.Integer(), "name": _str(),
    "nip": _str(), "jabatan": _str(), **_timed("updated_at"),
})
ItemDikOut = _schema("ItemDikOut", {
    **out.ItemDetailOut().fields,
    "dik_entry_id": f.Integer(allow_none=True), "dik_redacted": f.Boolean(),
})
_PDF = {"type": "string", "format": "binary"}

# --- serialisation --------------------------------------------------------------------------


def _day_text(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _signer(data: dict[str, Any] | None) -> dict[str, Any] | None:
    if not data:
        return None
    return {key: data.get(key) for key in ("user_id", "name", "nip", "jabatan", "title")
            if data.get(key) is not None}


def version_out(version: DikVersion, tz_name: str) -> dict[str, Any]:
    """One version of the uji konsekuensi, with its signature chain."""
    result: dict[str, Any] = {"version": version.version, "status": version.status}
    for name in dik.VERSION_FIELDS:
        value = getattr(version, name)
        result[name] = _day_text(value) if name in (
            "period_start", "period_end", "review_date", "test_date") else value
    result["members"] = list(version.members or [])
    result.update(number=version.number, content_hash=version.content_hash,
                  drafted_by_id=version.drafted_by_id, submitter=_signer(version.submitter),
                  approver=_signer(version.approver), return_comment=version.return_comment)
    for name in ("submitted_at", "approved_at", "created_at", "updated_at"):
        put_time(result, name, getattr(version, name), tz_name)
    return result


def entry_out(entry: DikEntry) -> dict[str, Any]:
    """An entry without its versions (the list's rows)."""
    tz_name = entry.opd.timezone
    latest = next((v for v in entry.versions if v.version == entry.latest_version), None)
    result: dict[str, Any] = {
        "id": entry.id, "opd_id": entry.opd_id, "opd_slug": entry.opd.slug,
        "status": entry.status, "title": latest.title if latest else "",
        "approved_version": entry.approved_version, "latest_version": entry.latest_version,
        "conclusion": entry.conclusion, "created_by_id": entry.created_by_id,
    }
    for name in ("created_at", "updated_at", "ended_at"):
        put_time(result, name, getattr(entry, name), tz_name)
    return result


def entry_detail(entry: DikEntry) -> dict[str, Any]:
    """An entry with every version and the items it is linked to."""
    session = object_session(entry)
    assert session is not None
    session.flush()
    result = entry_out(entry)
    result["versions"] = [version_out(v, entry.opd.timezone)
                          for v in sorted(entry.versions, key=lambda v: v.version)]
    result["item_ids"] = list(session.scalars(
        select(Item.id).where(Item.dik_entry_id == entry.id).order_by(Item.id)))
    return result


def designation_out(row: Designation, tz_name: str) -> dict[str, Any]:
    """Who approves the OPD's entries."""
    result: dict[str, Any] = {"opd_id": row.opd_id, "office": row.office,
                              "user_id": row.user_id, "name": row.name, "nip": row.nip,
                              "jabatan": row.jabatan}
    put_time(result, "updated_at", row.updated_at, tz_name)
    return result


def _item_dik(sess: Session, item: Item) -> dict[str, Any]:
    result = item_detail(sess, item, common.runtime().settings.public_base_url)
    result.update(dik_entry_id=item.dik_entry_id, dik_redacted=bool(item.dik_redacted))
    return result


def _pdf(document: dik_docs.Document) -> Response:
    response = Response(document.data, content_type="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


# --- entries --------------------------------------------------------------------------------


@blp.route("/dik")
class DikEntries(MethodView):
    """The DIK entries of the OPDs the user may read."""

    @blp.arguments(DikListArgs, location="query")
    @blp.response(200, DikEntryPage)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List entries, newest first (filters: opd, status)."""
        sess, who = common.session(), common.principal()
        opd_id = common.opd_filter(sess, who, args)
        rows = dik.list_entries(sess, who, opd_id=opd_id, status=args.get("status"))
        page, per_page = args["page"], args["per_page"]
        start = (page - 1) * per_page
        return {"items": [entry_out(e) for e in rows[start:start + per_page]], "page": page,
                "per_page": per_page, "total": len(rows)}

    @common.requires(Role.EDITOR, Role.APPROVER, what="menyusun DIK")
    @blp.arguments(DikCreateSchema)
    @blp.response(201, DikEntryDetailOut)
    def post(self, data: dict[str, Any]) -> Any:
        """Draft an entry (version 1) in an OPD."""
        sess, who = common.session(), common.principal()
        opd = common.opd_ref(sess, who, data.pop("opd"))
        entry = dik.create_entry(sess, who, opd.id, data)
        body = entry_detail(entry)
        sess.commit()
        return body, 201, {"Location": url_for("dik.DikEntryResource", entry_id=entry.id)}


@blp.route("/dik/<id:entry_id>")
class DikEntryResource(MethodView):
    """One entry."""

    @blp.response(200, DikEntryDetailOut)
    def get(self, entry_id: int) -> dict[str, Any]:
        """An entry with all its versions and linked items."""
        return entry_detail(dik.get_entry(common.session(), common.principal(), entry_id))

    @common.requires(Role.EDITOR, Role.APPROVER, what="mengubah DIK")
    @blp.arguments(DikFieldsSchema)
    @blp.response(200, DikEntryDetailOut)
    def patch(self, data: dict[str, Any], entry_id: int) -> dict[str, Any]:
        """Change the newest version while it is a draft or returned (only the fields
        given); a submitted or approved version is never edited (409: re-test it)."""
        sess = common.session()
        entry = dik.update_draft(sess, common.principal(), entry_id, data)
        body = entry_detail(entry)
        sess.commit()
        return body


@blp.route("/dik/<id:entry_id>/submit", methods=["POST"])
@common.requires(Role.APPROVER, what="mengajukan uji konsekuensi")
@blp.response(200, DikEntryDetailOut)
def submit(entry_id: int) -> dict[str, Any]:
    """The PPID Pelaksana signs the newest version and sends it for pengesahan (422 naming
    the first missing field)."""
    sess = common.session()
    entry = dik.submit(sess, common.principal(), entry_id)
    body = entry_detail(entry)
    sess.commit()
    return body


@blp.route("/dik/<id:entry_id>/approve", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="mengesahkan DIK")
@blp.response(200, DikEntryDetailOut)
def approve(entry_id: int) -> Any:
    """Pengesahan by the OPD's designated atasan PPID (never of a version they drafted or
    submitted: 403, and the attempt is audited)."""
    return dik.run_guarded(common.runtime().db, common.principal(), dik.approve, entry_id,
                           present=entry_detail)


@blp.route("/dik/<id:entry_id>/return", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="mengembalikan DIK")
@blp.arguments(ReturnSchema)
@blp.response(200, DikEntryDetailOut)
def return_(data: dict[str, Any], entry_id: int) -> Any:
    """The atasan PPID sends the submitted version back with a comment."""
    return dik.run_guarded(common.runtime().db, common.principal(), dik.return_version,
                           entry_id, data["comment"], present=entry_detail)


@blp.route("/dik/<id:entry_id>/retest", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="menguji ulang DIK")
@blp.arguments(DikFieldsSchema, required=False)
@blp.response(201, DikEntryDetailOut)
def retest(data: dict[str, Any], entry_id: int) -> Any:
    """A new uji konsekuensi of an approved entry: a new draft version copied from the one
    in force, with the fields given changed (the approved one stays in force meanwhile)."""
    sess = common.session()
    entry = dik.retest(sess, common.principal(), entry_id, data)
    body = entry_detail(entry)
    sess.commit()
    return body, 201


@blp.route("/dik/<id:entry_id>/berita-acara.pdf", methods=["GET"])
@blp.arguments(BeritaAcaraArgs, location="query")
@blp.response(200, _PDF, content_type="application/pdf",
              description="berita acara uji konsekuensi (PDF, lampiran)")
@blp.alt_response(409, response="CONFLICT")
def berita_acara(args: dict[str, Any], entry_id: int) -> Response:
    """The berita acara of an approved version (default: the one in force); the same
    version always gives the same bytes. A version not approved answers 409."""
    base = common.runtime().settings.public_base_url
    with common.runtime().db.write() as sess:  # generating it is an audit event
        document = dik_docs.berita_acara(sess, common.principal(), base, entry_id,
                                         args.get("version"))
    return _pdf(document)


# --- per OPD --------------------------------------------------------------------------------


@blp.route("/opds/<opd>/dik/penetapan.pdf", methods=["GET"])
@blp.response(200, _PDF, content_type="application/pdf",
              description="penetapan DIK OPD (PDF, lampiran)")
@blp.alt_response(409, response="CONFLICT")
def penetapan(opd: str) -> Response:
    """The penetapan DIK of an OPD (id or slug): every entry in force, signed by its atasan
    PPID (409 while the OPD has none)."""
    base = common.runtime().settings.public_base_url
    with common.runtime().db.write() as sess:  # generating it is an audit event
        document = dik_docs.penetapan(sess, common.principal(), base,
                                      common.opd_ref_value(opd))
    return _pdf(document)


@blp.route("/opds/<opd>/dik/atasan", methods=["PUT"])
@common.requires(Role.ADMIN, what="menetapkan atasan PPID")
@blp.arguments(DesignateSchema)
@blp.response(200, DesignationOut)
def designate(data: dict[str, Any], opd: str) -> dict[str, Any]:
    """Name the OPD's atasan PPID (Kepala OPD; for the Pemda the Sekda), who approves its
    entries (admin only)."""
    sess, who = common.session(), common.principal()
    target = item_service.get_opd(sess, who, common.opd_ref_value(opd))
    row = dik.designate(sess, who, target.id, data["user_id"], data["jabatan"],
                        name=data.get("name"), nip=data.get("nip"))
    sess.flush()
    body = designation_out(row, target.timezone)
    sess.commit()
    return body


# --- items ----------------------------------------------------------------------------------


@blp.route("/items/<id:item_id>/dik", methods=["POST"])
@common.requires(Role.EDITOR, Role.APPROVER, what="menautkan informasi ke DIK")
@blp.arguments(LinkSchema)
@blp.response(200, ItemDikOut)
def link_item(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Point the item at the entry that exempts it: it becomes dikecualikan and nothing of
    it goes out (or, ``redacted``, mark it as the blacked-out version of an entry concluded
    dibuka sebagian)."""
    sess, who = common.session(), common.principal()
    item_service.get_item(sess, who, item_id)  # an unknown item is a 404, not a 422
    with common.referenced():
        item = dik.link_item(sess, who, item_id, data["entry_id"], redacted=data["redacted"])
    body = _item_dik(sess, item)
    sess.commit()
    return body


@blp.route("/items/<id:item_id>/dik", methods=["DELETE"])
@common.requires(Role.APPROVER, what="mereklasifikasi informasi dikecualikan")
@blp.arguments(UnlinkArgs, location="query")
@blp.response(200, ItemDikOut)
def unlink_item(args: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Reclassify an item whose entry ended, was opened or never took effect into
    ``category``; an approved item goes back for a fresh approval."""
    sess = common.session()
    item = dik.unlink_item(sess, common.principal(), item_id, args["category"])
    body = _item_dik(sess, item)
    sess.commit()
    return body
