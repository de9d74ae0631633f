"""A small Pemda for the public-site tests: OPDs in WIB, WITA and WIT, in a hierarchy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from publisher.access import Principal
from publisher.models import Channel, Item, Opd, Publication
from publisher.runtime import Runtime
from publisher.services import admin

from ..factories import PASSWORD, Factory, Person


@dataclass
class Unit:
    """An OPD with an editor, an approver and its site channel."""

    opd: Opd
    editor: Person
    approver: Person
    site: Channel
    extra_channels: list[int] = field(default_factory=list)


@dataclass
class World:
    """Pemda (WIB) > Dinas Kominfo (WITA), Kecamatan (WIT) > Desa (WIT)."""

    make: Factory
    runtime: Runtime
    pemda: Unit
    kominfo: Unit
    kecamatan: Unit
    desa: Unit

    def publish(self, unit: Unit, **data: Any) -> Item:
        """Draft, approve and send an item through the real queue; returns it."""
        item = self.make.published_item(unit.editor, unit.approver, unit.opd,
                                        [unit.site.id, *unit.extra_channels], **data)
        self.make.dispatcher().drain()
        return item

    def published_at(self, item_id: int, kind: str = "site") -> datetime:
        """When the item went out on its channel of ``kind``."""
        with self.runtime.db.read() as s:
            moment = s.scalar(
                select(Publication.published_at)
                .join(Channel, Channel.id == Publication.channel_id)
                .where(Publication.item_id == item_id, Channel.kind == kind)
            )
        assert moment is not None, f"item {item_id} was not published on {kind}"
        return moment

    def move_published(self, item_id: int, moment: datetime) -> None:
        """Pretend the item went out at ``moment`` (for semester tests)."""
        with self.runtime.db.write() as s:
            s.execute(update(Publication).where(Publication.item_id == item_id)
                      .values(published_at=moment))

    def set_item(self, item_id: int, **values: Any) -> None:
        """Change an item's row directly (as a bad import or a DBA might)."""
        with self.runtime.db.write() as s:
            s.execute(update(Item).where(Item.id == item_id).values(**values))


_HASHES: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _one_scrypt_per_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash each test password once per run (a real scrypt hash, reused as-is): users here
    only need to exist, and scrypt is most of a site test's setup time."""
    real = admin.hash_password

    def cached(password: str) -> str:
        if password not in _HASHES:
            _HASHES[password] = real(password)
        return _HASHES[password]

    monkeypatch.setattr(admin, "hash_password", cached)


def person_in(runtime: Runtime, username: str, role: str, opds: list[Opd]) -> Person:
    """A user holding ``role`` in each of ``opds`` (one password hash for all: tests stay
    fast), without an API token."""
    with runtime.db.write() as s:
        user = admin.create_user(s, None, username, PASSWORD, full_name=username.title(),
                                 roles=[(role, o.id) for o in opds])
        return Person(user.id, username, Principal.of(user))


@pytest.fixture()
def world(make: Factory, runtime: Runtime) -> World:
    pemda = make.opd("Pemerintah Kabupaten Uji", slug="pemkab-uji")
    kominfo = make.opd("Dinas Kominfo", timezone="Asia/Makassar", parent=pemda.slug)
    kecamatan = make.opd("Kecamatan Sei Rampah", timezone="Asia/Jayapura", parent=pemda.slug)
    desa = make.opd("Desa Firdaus", timezone="Asia/Jayapura", parent=kecamatan.slug)
    opds = [pemda, kominfo, kecamatan, desa]
    editor = person_in(runtime, "operator", "editor", opds)
    approver = make.admin()  # PPID Utama approves everywhere (one password hash fewer)
    units = [Unit(o, editor, approver, make.channel(o, "site", f"Situs {o.name}")) for o in opds]
    return World(make, runtime, *units)
