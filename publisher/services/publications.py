"""Per-publication actions: retry a failed one, cancel one that has not started."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import Principal
from ..models import CANCELLABLE, ChannelStatus, Publication, PublicationStatus, Role
from ..queue import signals
from ..timeutil import utcnow
from .auditing import record
from .errors import Conflict, Forbidden, NotFound
from .items import refuse_exempt


def get_publication(
    session: Session, principal: Principal, pub_id: int, *, lock: bool = False
) -> Publication:
    """A publication the user may read; NotFound otherwise. ``lock`` takes the row lock
    (PostgreSQL), so a worker cannot claim it while we change it."""
    pub = session.get(Publication, pub_id, with_for_update=lock or None)
    if pub is None or not principal.can_read(pub.opd_id):
        raise NotFound(f"publikasi #{pub_id} tidak ditemukan", field="publication_id")
    return pub


def _act(principal: Principal, pub: Publication) -> None:
    if not principal.has_role(pub.opd_id, Role.EDITOR, Role.APPROVER):
        raise Forbidden("Anda tidak berwenang mengubah publikasi di OPD ini")


def retry_publication(session: Session, principal: Principal, pub_id: int) -> Publication:
    """Send a failed, retrying or unconfirmed publication again now. One that owes a
    reconciliation (an earlier write may have reached the platform) keeps owing it: the next
    attempt asks the platform first and sends only if the post is not there."""
    pub = get_publication(session, principal, pub_id, lock=True)
    _act(principal, pub)
    refuse_exempt(pub.item, "dikirim ulang")
    if pub.status not in (PublicationStatus.FAILED, PublicationStatus.RETRYING,
                          PublicationStatus.UNCONFIRMED):
        raise Conflict(f"publikasi berstatus {pub.status}; hanya yang gagal, menunggu "
                       "percobaan ulang atau perlu dicek yang dapat dikirim ulang",
                       field="status")
    if pub.channel.status != ChannelStatus.ACTIVE:
        raise Conflict("saluran tidak aktif: sambungkan ulang atau lanjutkan saluran dulu",
                       field="channel")
    previous = pub.status
    pub.status = PublicationStatus.SCHEDULED
    pub.due_at = utcnow()
    pub.attempts = 0
    record(session, principal, "publication.retry_requested", item=pub.item, publication=pub,
           detail={"previous_status": previous, "last_error": pub.last_error or "",
                   "reconcile_first": pub.needs_reconcile})
    signals.notify(pub.due_at)
    return pub


def cancel_publication(session: Session, principal: Principal, pub_id: int) -> Publication:
    """Cancel one publication until sending starts."""
    pub = get_publication(session, principal, pub_id, lock=True)
    _act(principal, pub)
    if pub.status not in CANCELLABLE:
        raise Conflict(f"publikasi berstatus {pub.status} tidak dapat dibatalkan",
                       field="status")
    pub.status = PublicationStatus.CANCELLED
    record(session, principal, "publication.cancelled", item=pub.item, publication=pub)
    return pub
