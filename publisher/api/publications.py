"""``/api/v1/publications``: each item on each channel — list, read, retry, cancel."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from ..models import Opd, Publication
from ..services import publications as service
from . import common
from . import outputs as out
from .schemas import PublicationListArgs
from .serialize import publication_out

blp = Blueprint("publications", __name__, url_prefix="/api/v1/publications",
                description="Publikasi per saluran: status antrean, kirim ulang, batal")

_DATE_COLUMNS = {
    "due_at": Publication.due_at, "published_at": Publication.published_at,
    "created_at": Publication.created_at,
}


def _out(pub: Publication) -> dict[str, Any]:
    zone = common.session().scalar(select(Opd.timezone).where(Opd.id == pub.opd_id))
    return publication_out(pub, zone or common.runtime().settings.timezone)


@blp.route("", methods=["GET"])
@blp.arguments(PublicationListArgs, location="query")
@blp.response(200, out.PublicationPage)
def list_publications(args: dict[str, Any]) -> dict[str, Any]:
    """List publications (filters: opd, status, channel, item, from/to on ``date_field``)."""
    sess, who = common.session(), common.principal()
    query = select(Publication).where(who.scope(Publication.opd_id))
    opd_id = common.opd_filter(sess, who, args)
    if opd_id is not None:
        query = query.where(Publication.opd_id == opd_id)
    if args.get("status"):
        query = query.where(Publication.status == args["status"])
    if args.get("channel") is not None:
        query = query.where(Publication.channel_id == args["channel"])
    if args.get("item") is not None:
        query = query.where(Publication.item_id == args["item"])
    start, stop = common.time_range(args, common.opd_zone(sess, opd_id))
    column = _DATE_COLUMNS[args["date_field"]]
    if start is not None:
        query = query.where(column >= start)
    if stop is not None:
        query = query.where(column < stop)
    rows, page = common.paged(sess, query.order_by(Publication.due_at.desc(),
                                                   Publication.id.desc()), args)
    zones = dict(sess.execute(select(Opd.id, Opd.timezone)).all())
    return {"items": [publication_out(p, zones[p.opd_id]) for p in rows], **page}


@blp.route("/<id:pub_id>", methods=["GET"])
@blp.response(200, out.PublicationOut)
def get_publication(pub_id: int) -> dict[str, Any]:
    """One publication."""
    return _out(service.get_publication(common.session(), common.principal(), pub_id))


@blp.route("/<id:pub_id>/retry", methods=["POST"])
@blp.response(200, out.PublicationOut)
def retry(pub_id: int) -> dict[str, Any]:
    """Send a failed (or waiting) publication again now."""
    sess = common.session()
    pub = service.retry_publication(sess, common.principal(), pub_id)
    sess.commit()
    return _out(pub)


@blp.route("/<id:pub_id>/cancel", methods=["POST"])
@blp.response(200, out.PublicationOut)
def cancel(pub_id: int) -> dict[str, Any]:
    """Cancel one publication until sending starts."""
    sess = common.session()
    pub = service.cancel_publication(sess, common.principal(), pub_id)
    sess.commit()
    return _out(pub)
