"""Fixtures of the JSON API tests: two OPDs with their people and site channels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from publisher.db import Base
from publisher.models import Opd, Role
from publisher.runtime import Runtime

from ..factories import Factory, Person


@dataclass
class World:
    """OPD A and OPD B, each with an editor, an approver and a site channel."""

    a: Opd
    b: Opd
    editor_a: Person
    approver_a: Person
    editor_b: Person
    approver_b: Person
    auditor: Person
    admin: Person
    site_a: Any
    site_b: Any


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API authenticates by token: skip scrypt's deliberate slowness for test users."""
    from werkzeug.security import generate_password_hash

    monkeypatch.setattr("publisher.services.admin.hash_password",
                        lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))


@pytest.fixture()
def world(make: Factory) -> World:
    a = make.opd("Dinas Komunikasi dan Informatika", slug="kominfo")
    b = make.opd("Kecamatan Sei Rampah", slug="sei-rampah", timezone="Asia/Makassar")
    return World(
        a=a, b=b,
        editor_a=make.person(Role.EDITOR, a), approver_a=make.person(Role.APPROVER, a),
        editor_b=make.person(Role.EDITOR, b), approver_b=make.person(Role.APPROVER, b),
        auditor=make.person(Role.AUDITOR), admin=make.admin(),
        site_a=make.channel(a, "site", "Situs Kominfo"),
        site_b=make.channel(b, "site", "Situs Sei Rampah"),
    )


class Api:
    """Small client: JSON in, (status, parsed body, response) out."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def call(self, method: str, path: str, who: Person | None = None, *, json_body: Any = None,
             headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any, Any]:
        all_headers = dict(who.auth if who else {})
        all_headers.update(headers or {})
        response = self.client.open(f"/api/v1{path}", method=method, json=json_body,
                                     headers=all_headers, **kw)
        body = json.loads(response.data) if response.data else None
        return response.status_code, body, response

    def get(self, path: str, who: Person | None = None, **kw: Any) -> tuple[int, Any, Any]:
        return self.call("GET", path, who, **kw)

    def post(self, path: str, who: Person | None = None, body: Any = None,
             **kw: Any) -> tuple[int, Any, Any]:
        return self.call("POST", path, who, json_body=body if body is not None else {}, **kw)

    def patch(self, path: str, who: Person | None = None, body: Any = None,
              **kw: Any) -> tuple[int, Any, Any]:
        return self.call("PATCH", path, who, json_body=body, **kw)

    def delete(self, path: str, who: Person | None = None, **kw: Any) -> tuple[int, Any, Any]:
        return self.call("DELETE", path, who, **kw)


@pytest.fixture()
def api(client: Any) -> Api:
    return Api(client)


def db_state(runtime: Runtime) -> dict[str, Any]:
    """Every row of every table (for "nothing changed" assertions)."""
    state: dict[str, Any] = {}
    present = set(inspect(runtime.db.engine).get_table_names())
    with runtime.db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name not in present or table.name in ("api_token", "idempotency_record"):
                continue  # last_used_at and idempotency bookkeeping are not content
            rows = s.execute(select(table)).all()
            state[table.name] = sorted(repr(tuple(r)) for r in rows)
            assert s.scalar(select(func.count()).select_from(table)) == len(rows)
    return state


def assert_problem(body: Any, status: int, field: str | None = None) -> None:
    """``body`` is an RFC 9457 problem with ``status`` (and an error naming ``field``)."""
    assert body["status"] == status, body
    for key in ("type", "title", "detail", "instance"):
        assert body.get(key), (key, body)
    # only what the documented ProblemSchema holds (it allows no other member)
    assert set(body) <= {"type", "title", "status", "detail", "instance", "errors"}, body
    if field is not None:
        fields = [e["field"] for e in body.get("errors", [])]
        assert field in fields, body


def item_body(opd: Opd | str | int, channel_ids: list[int] | None = None,
              **extra: Any) -> dict[str, Any]:
    """A valid create-item request."""
    ref = opd.slug if isinstance(opd, Opd) else opd
    body: dict[str, Any] = {
        "opd": ref, "title": "Jadwal Posyandu Desa Firdaus",
        "body_html": "<p>Posyandu dibuka setiap Senin.</p>",
        "summary": "Jadwal layanan posyandu", "official_unit": "Bidang IKP",
        "responsible": "PPID Pelaksana", "made_at": "2026-11-01", "made_place": "Sei Rampah",
        "info_formats": ["online", "cetak"], "retention": "5 tahun", "category": "berkala",
    }
    if channel_ids is not None:
        body["channel_ids"] = channel_ids
    body.update(extra)
    return body
