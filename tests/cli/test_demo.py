"""``publisher run --demo`` seeding: realistic, approved, due within the minute, idempotent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from publisher import demo
from publisher.models import Channel, Item, ItemStatus, Opd, Priority, Publication, User
from publisher.runtime import Runtime
from publisher.timeutil import utcnow


def totals(runtime: Runtime) -> dict[str, int]:
    with runtime.db.read() as s:
        return {model.__name__: int(s.scalar(select(func.count()).select_from(model)) or 0)
                for model in (Opd, User, Channel, Item, Publication)}


def test_seed_creates_the_demo_once(runtime: Runtime) -> None:
    before = utcnow()
    first = demo.seed(runtime)
    assert {username for username, *_ in first.accounts} == {
        "kominfo.editor", "kominfo.approver", "seirampah.editor", "seirampah.approver"}
    assert all(len(password) >= 10 for *_, password in first.accounts)
    assert [path for _, path in first.sites] == ["/o/diskominfo/", "/o/kecamatan-sei-rampah/"]
    assert len(first.items) == len(demo.ITEMS)
    expected = {"Opd": 3, "User": 4, "Channel": 2, "Item": 4, "Publication": 4}
    assert totals(runtime) == expected

    with runtime.db.read() as s:
        pemda = s.scalars(select(Opd).where(Opd.slug == demo.PEMDA.slug)).one()
        children = s.scalars(select(Opd.slug).where(Opd.parent_id == pemda.id)).all()
        assert sorted(children) == ["diskominfo", "kecamatan-sei-rampah"]
        items = s.scalars(select(Item)).all()
        assert {i.category for i in items} == {"berkala", "setiap_saat", "serta_merta"}
        assert all(i.status == ItemStatus.APPROVED for i in items)
        assert all(i.created_by_id != i.approved_by_id for i in items)
        assert all(i.summary and i.official_unit and i.responsible for i in items)
        pubs = s.scalars(select(Publication)).all()
        for pub in pubs:
            assert before - timedelta(seconds=1) <= pub.due_at <= utcnow() + timedelta(seconds=60)
        urgent = [p for p in pubs if p.priority == Priority.SERTA_MERTA]
        assert len(urgent) == 1 and urgent[0].due_at <= utcnow()

    again = demo.seed(runtime)
    assert (again.accounts, again.items) == ([], [])
    assert totals(runtime) == expected
