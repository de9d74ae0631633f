"""``/api/v1/register``: the Daftar Informasi Publik as JSON, CSV or XLSX.

Scoped like everything else: a user gets the register of the OPDs they belong to; the
register of every OPD (no ``opd``) is for admins and auditors only.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response
from flask_smorest import Blueprint

from .. import register as dip
from ..services.errors import Forbidden
from . import common

blp = Blueprint("register", __name__, url_prefix="/api/v1/register",
                description="Daftar Informasi Publik (DIP) per OPD atau seluruh Pemda")


class RegisterArgs(ma.Schema):
    """Which register, and in which format."""

    opd = common.OpdRef(metadata={"description": "id atau slug OPD; kosong: seluruh OPD "
                                                 "(hanya admin/auditor)"})
    year = ma.fields.Integer(validate=ma.validate.Range(min=dip.YEAR_RANGE[0],
                                                        max=dip.YEAR_RANGE[1]),
                             metadata={"description": "tahun; bawaan: tahun berjalan"})
    semester = ma.fields.Integer(validate=ma.validate.OneOf([1, 2]),
                                 metadata={"description": "1 (Jan–Jun) atau 2 (Jul–Des); "
                                                          "bawaan: semester berjalan"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(dip.FORMATS),
                              metadata={"description": "json, csv atau xlsx"})
    descendants = common.Bool(query=True, load_default=False,
                                    metadata={"description": "sertakan OPD di bawahnya "
                                                             "(kecamatan, desa)"})


@blp.route("", methods=["GET"])
@blp.arguments(RegisterArgs, location="query")
@blp.response(200)
def get_register(args: dict[str, Any]) -> Any:
    """The DIP of an OPD (or of every OPD) for one semester, in the zone of the OPD.

    Rows: approved, non-exempt items first published in the semester, with every channel
    they went out on (URL, time in UTC and local time with WIB/WITA/WIT).
    """
    sess, who = common.session(), common.principal()
    settings = common.runtime().settings
    opd = common.opd_ref(sess, who, args["opd"]) if args.get("opd") is not None else None
    if opd is None and not who.sees_everything:
        raise Forbidden("register seluruh Pemda hanya untuk admin dan auditor: sebutkan opd",
                        field="opd")
    tz_name = opd.timezone if opd is not None else settings.timezone
    year, semester = dip.parse_period(args.get("year"), args.get("semester"), tz_name)
    register = dip.build(sess, settings, year, semester, opd=opd,
                         descendants=args["descendants"], within=who.visible_opds())
    fmt = args["format"]
    if fmt == "json":
        return register.as_dict()
    response = Response(dip.render(register, fmt), content_type=dip.MIME_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{register.filename(fmt)}"'
    return response
