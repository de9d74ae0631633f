"""The DIK through the API: the draft → submit → approve chain, its refusals (audited),
the berita acara and penetapan PDFs, and items exempted by an entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from publisher.models import AuditEvent, Role
from publisher.runtime import Runtime

from ..factories import Factory, Person
from .conftest import Api, World, assert_problem, item_body


def entry_body(opd: str = "kominfo", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "opd": opd,
        "title": "Data pribadi pelapor pengaduan",
        "description": "Identitas dan kontak pelapor pengaduan masyarakat.",
        "documents": "Formulir pengaduan, rekaman panggilan",
        "article": "h",
        "legal_basis": "UU 14/2008 Pasal 17 huruf h; UU 27/2022 Pelindungan Data Pribadi",
        "holder_unit": "Bidang Informasi dan Komunikasi Publik",
        "period_start": "2026-12-01",
        "period_end": "2031-12-01",
        "review_date": "2027-12-01",
        "harm": "Pelapor dapat diintimidasi bila identitasnya diketahui.",
        "public_interest": "Publik berkepentingan atas tindak lanjut, bukan identitas pelapor.",
        "weighing": "Kerugian bila dibuka lebih besar daripada manfaatnya.",
        "conclusion": "ditutup",
        "members": ["Rina, PPID Pelaksana", "Budi, Tim Pertimbangan"],
        "place": "Sei Rampah",
        "test_date": "2026-12-02",
    }
    body.update(overrides)
    return body


@dataclass
class Dik:
    api: Api
    world: World
    kepala: Person  # the designated atasan PPID of OPD A
    runtime: Runtime

    def create(self, who: Person | None = None, **overrides: Any) -> dict[str, Any]:
        status, body, _ = self.api.post("/dik", who or self.world.editor_a,
                                        entry_body(**overrides))
        assert status == 201, body
        return body  # type: ignore[no-any-return]

    def in_force(self, **overrides: Any) -> dict[str, Any]:
        entry = self.create(**overrides)
        status, body, _ = self.api.post(f"/dik/{entry['id']}/submit", self.world.approver_a)
        assert status == 200, body
        status, body, _ = self.api.post(f"/dik/{entry['id']}/approve", self.kepala)
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    def pdf(self, path: str, who: Person | None = None) -> Any:
        return self.api.client.get(f"/api/v1{path}",
                                   headers=(who or self.world.editor_a).auth)

    def audit_actions(self, action: str) -> list[AuditEvent]:
        with self.runtime.db.read() as s:
            events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
            s.expunge_all()
            return events


@pytest.fixture()
def d(api: Api, world: World, make: Factory, runtime: Runtime) -> Dik:
    kepala = make.person(Role.APPROVER, world.a, full_name="Drs. Ahmad Kepala",
                         nip="197001011995031001", jabatan="Kepala Dinas Kominfo")
    status, body, _ = api.call("PUT", "/opds/kominfo/dik/atasan", world.admin, json_body={
        "user_id": kepala.user_id, "jabatan": "Kepala Dinas Kominfo"})
    assert status == 200, body
    assert body["user_id"] == kepala.user_id and body["name"] == "Drs. Ahmad Kepala"
    assert body["nip"] == "197001011995031001" and body["office"] == "atasan_ppid"
    return Dik(api, world, kepala, runtime)


def test_full_chain_create_submit_approve(d: Dik) -> None:
    api, w = d.api, d.world
    status, entry, resp = api.post("/dik", w.editor_a, entry_body())
    assert status == 201, entry
    assert resp.headers["Location"].endswith(f"/api/v1/dik/{entry['id']}")
    assert entry["status"] == "draft" and entry["approved_version"] is None
    assert entry["latest_version"] == 1 and entry["opd_slug"] == "kominfo"
    (v1,) = entry["versions"]
    assert v1["status"] == "draft" and v1["article"] == "h"
    assert v1["period_start"] == "2026-12-01" and v1["members"] == [
        "Rina, PPID Pelaksana", "Budi, Tim Pertimbangan"]
    assert v1["submitter"] is None and v1["number"] == ""

    status, entry, _ = api.post(f"/dik/{entry['id']}/submit", w.approver_a)
    assert status == 200, entry
    assert entry["status"] == "submitted"
    (v1,) = entry["versions"]
    assert v1["status"] == "submitted" and v1["submitted_at"].endswith("Z")
    assert v1["submitter"]["name"] == w.approver_a.principal.full_name
    assert v1["submitter"]["nip"] == w.approver_a.principal.nip
    assert v1["submitter"]["jabatan"] == w.approver_a.principal.jabatan

    status, entry, _ = api.post(f"/dik/{entry['id']}/approve", d.kepala)
    assert status == 200, entry
    assert entry["status"] == "berlaku" and entry["approved_version"] == 1
    assert entry["conclusion"] == "ditutup"
    status, detail, _ = api.get(f"/dik/{entry['id']}", w.editor_a)
    assert status == 200 and detail == entry
    (v1,) = detail["versions"]
    assert v1["status"] == "approved" and v1["approved_at"].endswith("Z")
    assert v1["number"].startswith("001/BA-UK/KOMINFO/")
    assert len(v1["content_hash"]) == 64
    assert v1["approver"]["name"] == "Drs. Ahmad Kepala"
    assert v1["approver"]["nip"] == "197001011995031001"
    assert v1["approver"]["jabatan"] == "Kepala Dinas Kominfo"
    assert v1["return_comment"] == "" and detail["item_ids"] == []

    status, page, _ = api.get("/dik?opd=kominfo&status=berlaku", w.approver_a)
    assert status == 200 and [e["id"] for e in page["items"]] == [entry["id"]]
    assert page["total"] == 1 and page["items"][0]["title"] == v1["title"]
    status, page, _ = api.get("/dik?status=draft", w.approver_a)
    assert status == 200 and page["items"] == []
    for action in ("dik.drafted", "dik.submitted", "dik.approved"):
        (event,) = d.audit_actions(action)
        assert event.detail["dik_entry_id"] == entry["id"]


@pytest.mark.parametrize("field", ["legal_basis", "holder_unit", "harm", "public_interest",
                                   "weighing", "period_start", "test_date", "place",
                                   "period_end"])
def test_submit_names_the_missing_field(d: Dik, field: str) -> None:
    entry = d.create(**{field: None if field in ("period_start", "test_date", "period_end")
                        else ""})
    status, body, _ = d.api.post(f"/dik/{entry['id']}/submit", d.world.approver_a)
    assert status == 422, body
    assert_problem(body, 422, field)
    assert body["type"].endswith(":rule")
    status, detail, _ = d.api.get(f"/dik/{entry['id']}", d.world.editor_a)
    assert detail["status"] == "draft"


def test_create_validates_the_body(d: Dik) -> None:
    body = entry_body()
    del body["title"]
    status, problem, _ = d.api.post("/dik", d.world.editor_a, body)
    assert status == 422 and problem["type"].endswith(":validation")
    assert_problem(problem, 422, "title")
    for field, value in (("article", "k"), ("conclusion", "rahasia"),
                         ("period_start", "2026-13-01"), ("members", "satu orang"),
                         ("opd", "tidak-ada")):
        status, problem, _ = d.api.post("/dik", d.world.editor_a, entry_body(**{field: value}))
        assert status == 422, (field, problem)
        assert_problem(problem, 422, field)


def test_approving_own_draft_is_refused_and_audited(d: Dik) -> None:
    entry = d.create(who=d.kepala)
    assert d.api.post(f"/dik/{entry['id']}/submit", d.world.approver_a)[0] == 200
    status, body, _ = d.api.post(f"/dik/{entry['id']}/approve", d.kepala)
    assert status == 403, body
    assert_problem(body, 403, "approver")
    assert "sendiri" in body["detail"]
    (event,) = d.audit_actions("dik.approval_refused")  # committed despite the 403
    assert event.result == "refused" and event.detail["dik_entry_id"] == entry["id"]
    assert event.detail["version"] == 1 and event.opd_id == d.world.a.id
    # the submitter is not the designated atasan either
    status, body, _ = d.api.post(f"/dik/{entry['id']}/approve", d.world.approver_a)
    assert status == 403 and "atasan PPID" in body["detail"]
    assert len(d.audit_actions("dik.approval_refused")) == 2
    status, detail, _ = d.api.get(f"/dik/{entry['id']}", d.world.editor_a)
    assert detail["status"] == "submitted" and detail["approved_version"] is None
    assert not d.audit_actions("dik.approved")


def test_return_with_comment_then_edit_and_resubmit(d: Dik) -> None:
    entry = d.create()
    d.api.post(f"/dik/{entry['id']}/submit", d.world.approver_a)
    status, body, _ = d.api.post(f"/dik/{entry['id']}/return", d.kepala, {})
    assert status == 422 and body["type"].endswith(":validation")
    assert_problem(body, 422, "comment")
    status, body, _ = d.api.post(f"/dik/{entry['id']}/return", d.world.approver_a,
                                 {"comment": "Perjelas"})
    assert status == 403 and len(d.audit_actions("dik.approval_refused")) == 1
    status, body, _ = d.api.post(f"/dik/{entry['id']}/return", d.kepala,
                                 {"comment": "Perjelas dasar hukumnya"})
    assert status == 200, body
    assert body["status"] == "returned"
    assert body["versions"][0]["return_comment"] == "Perjelas dasar hukumnya"
    status, body, _ = d.api.patch(f"/dik/{entry['id']}", d.world.editor_a,
                                  {"legal_basis": "UU 14/2008 Pasal 17 huruf h angka 2"})
    assert status == 200, body
    assert body["status"] == "draft"
    assert body["versions"][0]["legal_basis"] == "UU 14/2008 Pasal 17 huruf h angka 2"
    assert d.api.post(f"/dik/{entry['id']}/submit", d.world.approver_a)[0] == 200
    assert d.api.post(f"/dik/{entry['id']}/approve", d.kepala)[0] == 200


def test_other_opd_gets_404(d: Dik) -> None:
    entry = d.create()
    other = d.world.approver_b
    for method, path in (("GET", ""), ("PATCH", ""), ("POST", "/submit"),
                         ("POST", "/approve"), ("POST", "/retest"),
                         ("GET", "/berita-acara.pdf")):
        status, body, _ = d.api.call(method, f"/dik/{entry['id']}{path}", other,
                                     json_body={} if method != "GET" else None)
        assert status == 404, (method, path, body)
        assert_problem(body, 404)
    status, body, _ = d.api.post(f"/dik/{entry['id']}/return", other, {"comment": "x"})
    assert status == 404
    status, page, _ = d.api.get("/dik", other)
    assert status == 200 and page["items"] == []
    status, body, _ = d.api.get("/dik?opd=kominfo", other)
    assert status == 422 and body["type"].endswith(":rule")
    assert d.api.get(f"/dik/{entry['id']}", d.world.auditor)[0] == 200
    # the approval and the return were answered as not found, and are audited as refused:
    # in the log of the user's own OPD, never in the other OPD's
    refused = d.audit_actions("dik.approval_refused")
    assert len(refused) == 2
    assert {e.actor_id for e in refused} == {str(other.user_id)}
    assert {e.opd_id for e in refused} == {d.world.b.id} != {entry["opd_id"]}


def test_roles_are_checked_before_the_body(d: Dik) -> None:
    auditor = d.world.auditor
    status, body, _ = d.api.post("/dik", auditor, {"title": 1})
    assert status == 403 and body["status"] == 403
    entry = d.create()
    status, _, _ = d.api.patch(f"/dik/{entry['id']}", auditor, {"title": 1})
    assert status == 403
    status, _, _ = d.api.post(f"/dik/{entry['id']}/submit", d.world.editor_a)
    assert status == 403  # only the PPID Pelaksana (approver) submits
    status, _, _ = d.api.call("PUT", "/opds/kominfo/dik/atasan", d.world.approver_a,
                              json_body={"user_id": "x"})
    assert status == 403
    status, body, _ = d.api.call("PUT", "/opds/kominfo/dik/atasan", d.world.admin,
                                 json_body={"user_id": 999999, "jabatan": "Kepala"})
    assert status == 422 and body["type"].endswith(":rule")
    assert_problem(body, 422, "user_id")
    status, _, _ = d.api.call("PUT", "/opds/tidak-ada/dik/atasan", d.world.admin,
                              json_body={"user_id": d.kepala.user_id, "jabatan": "Kepala"})
    assert status == 404


def test_approved_version_is_never_edited_retest_makes_a_new_one(d: Dik) -> None:
    entry = d.in_force()
    status, body, _ = d.api.patch(f"/dik/{entry['id']}", d.world.editor_a, {"title": "Baru"})
    assert status == 409, body
    assert_problem(body, 409, "status")
    status, body, _ = d.api.post(f"/dik/{entry['id']}/retest", d.world.editor_a,
                                 {"review_date": "2028-12-01"})
    assert status == 201, body
    assert body["latest_version"] == 2 and body["approved_version"] == 1
    assert body["status"] == "berlaku"
    v1, v2 = body["versions"]
    assert v1["status"] == "approved" and v2["status"] == "draft"
    assert v2["review_date"] == "2028-12-01" and v2["title"] == v1["title"]
    status, body, _ = d.api.post(f"/dik/{entry['id']}/retest", d.world.editor_a)
    assert status == 409
    assert d.api.post(f"/dik/{entry['id']}/submit", d.world.approver_a)[0] == 200
    status, body, _ = d.api.post(f"/dik/{entry['id']}/approve", d.kepala)
    assert status == 200, body
    assert [v["status"] for v in body["versions"]] == ["superseded", "approved"]
    assert body["approved_version"] == 2


def test_berita_acara_pdf(d: Dik) -> None:
    entry = d.in_force()
    first = d.pdf(f"/dik/{entry['id']}/berita-acara.pdf")
    assert first.status_code == 200
    assert first.mimetype == "application/pdf" and first.data.startswith(b"%PDF")
    disposition = first.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="berita-acara-dik-{entry["id"]}-v1.pdf"'
    second = d.pdf(f"/dik/{entry['id']}/berita-acara.pdf?version=1", d.world.auditor)
    assert second.status_code == 200 and second.data == first.data
    assert len(d.audit_actions("dik.pdf_generated")) == 2

    draft = d.create()
    response = d.pdf(f"/dik/{draft['id']}/berita-acara.pdf")
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert_problem(response.get_json(), 409, "version")
    response = d.pdf(f"/dik/{entry['id']}/berita-acara.pdf?version=7")
    assert response.status_code == 404
    d.api.post(f"/dik/{entry['id']}/retest", d.world.editor_a)
    assert d.pdf(f"/dik/{entry['id']}/berita-acara.pdf?version=2").status_code == 409
    assert d.pdf(f"/dik/{entry['id']}/berita-acara.pdf").data == first.data


def test_penetapan_pdf(d: Dik) -> None:
    d.in_force()
    d.in_force(title="Strategi pengamanan jaringan", article="c")
    response = d.pdf("/opds/kominfo/dik/penetapan.pdf")
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="penetapan-dik-kominfo-')
    by_id = d.pdf(f"/opds/{d.world.a.id}/dik/penetapan.pdf")
    assert by_id.status_code == 200 and by_id.data == response.data
    # OPD B has no atasan PPID to sign it; OPD A is invisible to B's people
    response = d.pdf("/opds/sei-rampah/dik/penetapan.pdf", d.world.editor_b)
    assert response.status_code == 409
    assert_problem(response.get_json(), 409, "opd")
    assert d.pdf("/opds/kominfo/dik/penetapan.pdf", d.world.editor_b).status_code == 404


def test_linked_item_is_exempt_and_cannot_be_approved(d: Dik) -> None:
    api, w = d.api, d.world
    entry = d.in_force()
    status, item, _ = api.post("/items", w.editor_a, item_body(w.a, [w.site_a.id]))
    assert status == 201, item
    assert api.post(f"/items/{item['id']}/submit", w.editor_a)[0] == 200

    status, body, _ = api.post(f"/items/{item['id']}/dik", w.editor_a,
                               {"entry_id": 999999})
    assert status == 422 and body["type"].endswith(":rule")
    assert_problem(body, 422, "entry_id")
    assert api.post("/items/999999/dik", w.editor_a, {"entry_id": entry["id"]})[0] == 404
    assert api.post(f"/items/{item['id']}/dik", w.editor_b, {"entry_id": entry["id"]})[0] == 404

    status, body, _ = api.post(f"/items/{item['id']}/dik", w.editor_a,
                               {"entry_id": entry["id"]})
    assert status == 200, body
    assert body["category"] == "dikecualikan" and body["dik_entry_id"] == entry["id"]
    assert body["dik_redacted"] is False and body["exemption_article"] == "h"
    assert body["channel_ids"] == []
    status, detail, _ = api.get(f"/dik/{entry['id']}", w.editor_a)
    assert detail["item_ids"] == [item["id"]]

    status, body, _ = api.post(f"/items/{item['id']}/approve", w.approver_a)
    assert status == 422, body
    assert_problem(body, 422)
    assert body["type"].endswith("exempt-information")
    status, item_now, _ = api.get(f"/items/{item['id']}", w.editor_a)
    assert item_now["status"] == "submitted" and item_now["publications"] == []

    # reclassifying needs the entry to have ended or been opened
    status, body, _ = api.delete(f"/items/{item['id']}/dik?category=berkala", w.approver_a)
    assert status == 409, body
    assert_problem(body, 409, "entry_id")
    status, body, _ = api.delete(f"/items/{item['id']}/dik?category=berkala", w.editor_a)
    assert status == 403
    status, body, _ = api.delete(f"/items/{item['id']}/dik?category=rahasia", w.approver_a)
    assert status == 422 and body["type"].endswith(":validation")
