"""Persetujuan: items waiting for the user's approval."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..models import Item, ItemStatus, Role, User
from .common import blueprint, paginate, principal, session_, visible_opds

bp = blueprint("ui_approvals", __name__)


@bp.get("/persetujuan")
def index() -> str:
    """Submitted items of the user's OPDs, oldest first."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    approvable = [o.id for o in opds if p.has_role(o.id, Role.APPROVER)]
    query = (
        select(Item)
        .where(p.scope(Item.opd_id), Item.status == ItemStatus.SUBMITTED)
        .options(selectinload(Item.opd))
        .order_by(Item.submitted_at, Item.id)
    )
    page = paginate(s, query)
    authors = {i.created_by_id for i in page.rows if i.created_by_id}
    users = {u.id: u for u in s.scalars(select(User).where(User.id.in_(authors)))}
    returned = list(s.scalars(
        select(Item).where(p.scope(Item.opd_id), Item.status == ItemStatus.RETURNED,
                           Item.created_by_id == p.user_id)
        .order_by(Item.updated_at.desc()).limit(20)))
    return render_template("ui/approvals.html", page=page, users=users,
                           approvable=set(approvable), returned=returned)
