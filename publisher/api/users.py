"""``/api/v1/users/me``: who the token belongs to, and where they may act."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from ..models import Opd, User
from ..services.admin import describe_user
from . import common
from . import outputs as out

blp = Blueprint("users", __name__, url_prefix="/api/v1/users",
                description="Pengguna yang sedang masuk")


@blp.route("/me", methods=["GET"])
@blp.response(200, out.MeOut)
def me() -> dict[str, Any]:
    """The signed-in user, their roles and the OPDs they can see."""
    sess, who = common.session(), common.principal()
    user = sess.get_one(User, who.user_id)
    opds = sess.scalars(select(Opd).where(who.scope(Opd.id)).order_by(Opd.name)).all()
    return {
        **describe_user(user),
        "is_admin": who.is_admin,
        "is_auditor": who.is_auditor,
        "opds": [{"id": o.id, "slug": o.slug, "name": o.name} for o in opds],
    }
