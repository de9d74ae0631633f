"""``/api/v1/status``: service-wide settings an operator must get right, said plainly.

Today that is ``PUBLISHER_PUBLIC_BASE_URL``: Instagram downloads every image from it, so it
must be public (https, a public DNS name), and the channel list and this endpoint warn when
it is not.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint

from ..channels.instagram import public_base_url_problem
from . import common
from . import outputs as out

blp = Blueprint("status", __name__, url_prefix="/api/v1/status",
                description="Keadaan layanan dan pengaturan yang perlu diperhatikan")

StatusOut = out._schema("StatusOut", {
    "public_base_url": ma.fields.String(),
    "public_base_url_ok": ma.fields.Boolean(metadata={
        "description": "dapat dipakai Instagram untuk mengambil gambar"}),
    "public_base_url_problem": ma.fields.String(allow_none=True),
    "graph_version": ma.fields.String(),
    "warnings": ma.fields.List(ma.fields.String()),
})


@blp.route("", methods=["GET"])
@blp.response(200, StatusOut)
def status() -> dict[str, Any]:
    """Settings problems every operator should see (any signed-in user)."""
    common.principal()
    settings = common.runtime().settings
    problem = public_base_url_problem(settings.public_base_url, settings)
    return {
        "public_base_url": settings.public_base_url,
        "public_base_url_ok": problem is None,
        "public_base_url_problem": problem,
        "graph_version": str(settings.graph_version),
        "warnings": [problem] if problem else [],
    }
