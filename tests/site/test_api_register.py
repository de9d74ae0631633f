"""``GET /api/v1/register``: scoped to the user's OPDs, in JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from publisher.register import current_semester

from .conftest import World


@pytest.fixture()
def published(world: World) -> World:
    world.publish(world.kominfo, title="Register Kominfo")
    world.publish(world.kecamatan, title="Register Kecamatan")
    world.publish(world.desa, title="Register Desa")
    return world


def titles(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.get_json()
    return sorted(r["judul"] for r in response.get_json()["rows"])


def test_opd_user_gets_only_their_own_register(client, published: World, make) -> None:  # type: ignore[no-untyped-def]
    kominfo_user = make.person("editor", published.kominfo.opd)
    response = client.get("/api/v1/register?opd=dinas-kominfo", headers=kominfo_user.auth)
    assert titles(response) == ["Register Kominfo"]
    body = response.get_json()
    year, semester = current_semester("Asia/Makassar")
    assert (body["year"], body["semester"]) == (year, semester)
    assert body["title"].endswith("DINAS KOMINFO")
    channel = body["rows"][0]["saluran"][0]
    assert channel["kind"] == "site" and channel["published_local"].endswith(" WITA")
    assert channel["url"].startswith("http://127.0.0.1:5000/o/dinas-kominfo/i/")

    for other in ("kecamatan-sei-rampah", str(published.kecamatan.opd.id)):
        refused = client.get(f"/api/v1/register?opd={other}", headers=kominfo_user.auth)
        assert refused.status_code == 422  # the same answer as for an unknown OPD
        assert refused.mimetype == "application/problem+json"
        assert "Register Kecamatan" not in refused.get_data(as_text=True)
    refused = client.get("/api/v1/register?opd=kecamatan-sei-rampah&format=csv",
                         headers=kominfo_user.auth)
    assert refused.status_code == 422
    whole = client.get("/api/v1/register", headers=kominfo_user.auth)
    assert whole.status_code == 403 and whole.mimetype == "application/problem+json"


def test_descendants_stop_at_what_the_user_may_see(client, published: World, make) -> None:  # type: ignore[no-untyped-def]
    camat = make.person("approver", published.kecamatan.opd)
    response = client.get("/api/v1/register?opd=kecamatan-sei-rampah&descendants=true",
                          headers=camat.auth)
    assert titles(response) == ["Register Kecamatan"]  # the desa is not the camat's OPD
    admin = published.make.admin()
    response = client.get("/api/v1/register?opd=kecamatan-sei-rampah&descendants=true",
                          headers=admin.auth)
    assert titles(response) == ["Register Desa", "Register Kecamatan"]


def test_admin_and_auditor_get_the_pemda_register(client, published: World, make) -> None:  # type: ignore[no-untyped-def]
    auditor = make.person("auditor")
    for person in (published.make.admin(), auditor):
        response = client.get("/api/v1/register", headers=person.auth)
        assert titles(response) == ["Register Desa", "Register Kecamatan", "Register Kominfo"]
        assert "PEMERINTAH KABUPATEN UJI" in response.get_json()["title"]


def test_csv_and_xlsx_formats(client, published: World) -> None:  # type: ignore[no-untyped-def]
    admin = published.make.admin()
    year, semester = current_semester("Asia/Jakarta")
    response = client.get(f"/api/v1/register?format=csv&year={year}&semester={semester}",
                          headers=admin.auth)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0][0] == "No"
    response = client.get("/api/v1/register?format=xlsx&opd=dinas-kominfo", headers=admin.auth)
    assert response.status_code == 200
    assert "dip-dinas-kominfo-" in response.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(response.data)).active
    assert ws["A1"].value.startswith("DAFTAR INFORMASI PUBLIK TAHUN")
    assert ws["B3"].value == "Register Kominfo"


def test_bad_input_names_the_field(client, world: World) -> None:  # type: ignore[no-untyped-def]
    admin = world.make.admin()
    for query, field in [("semester=3", "semester"), ("year=abc", "year"),
                         ("format=pdf", "format"), ("year=1999", "year"),
                         ("opd=tidak-ada", "opd"), ("descendants=mungkin", "descendants")]:
        response = client.get(f"/api/v1/register?{query}", headers=admin.auth)
        assert response.status_code == 422, (query, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in [e["field"] for e in response.get_json()["errors"]], query


def test_register_needs_a_token_and_is_documented(client, published: World) -> None:  # type: ignore[no-untyped-def]
    assert "/api/v1/register" in client.get("/api/v1/openapi.json").get_json()["paths"]
    assert client.get("/api/v1/register").status_code == 401
    bad = client.get("/api/v1/register", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
