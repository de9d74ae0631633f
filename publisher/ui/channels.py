"""Saluran: add, test, reconnect, pause and resume channels; health and token expiry.

Forms are generated from each channel class's ``required_config`` and ``secret_fields``, so a
channel kind installed later appears here without changes. Secrets are write-only: they are
never put in a page; an empty secret field keeps the stored one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from ..channels import UnknownChannelKind, kinds
from ..channels import get as channel_class
from ..channels.base import ConfigError
from ..health import health_out, platform_waits
from ..models import Publication, PublicationStatus, Role
from ..services import channels as channel_service
from ..services.channel_connect import connector, reconnect
from ..services.errors import Forbidden, NotFound, ServiceError
from ..timeutil import utcnow
from ..web.ids import form_number, parse_id
from .common import attempt, blueprint, editable_opds, principal, session_, visible_opds

bp = blueprint("ui_channels", __name__)

DAYS = (0, 1, 2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Field:
    """One input of a channel form."""

    name: str
    secret: bool
    required: bool


def fields_of(kind: str) -> list[Field]:
    """The inputs of a channel kind, from its class."""
    cls = channel_class(kind)
    secret = set(cls.secret_fields)
    out = [Field(n, n in secret, True) for n in cls.required_config]
    out += [Field(n, True, False) for n in cls.secret_fields if n not in cls.required_config]
    extra = getattr(cls, "optional_config", ())
    out += [Field(n, n in secret, False) for n in extra if n not in {f.name for f in out}]
    return out


def _kinds() -> dict[str, Any]:
    out = {}
    for kind in kinds():
        try:
            out[kind] = channel_class(kind)
        except UnknownChannelKind:
            continue
    return out


def _form_config(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    config: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    for f in fields_of(kind):
        value = (request.form.get(f"cfg_{f.name}") or "").strip()
        if f.secret:
            if value:
                secrets[f.name] = value
        elif value or f.required:
            config[f.name] = value
    return config, secrets


def _form_schedule() -> list[dict[str, Any]] | None:
    days = [int(d) for d in request.form.getlist("slot_days") if d.isascii() and d.isdigit()]
    times = [t.strip() for t in (request.form.get("slot_times") or "").split(",") if t.strip()]
    if not days and not times:
        return []
    return [{"days": days, "times": times}]


def _interval() -> int:
    """The typed minimum gap in seconds (Invalid naming the field beyond 0..30 days)."""
    return form_number(request.form.get("min_interval_seconds"), "min_interval_seconds",
                       maximum=channel_service.MAX_INTERVAL_SECONDS)


@bp.get("/saluran")
def index() -> str:
    """Channels of the user's OPDs with health, plus the form to add one."""
    s, p = session_(), principal()
    opds = visible_opds(s, p)
    rows = channel_service.list_channels(s, p)
    # held publications are few: counted here, so the status index (not a full scan) is used
    waiting = Counter(s.scalars(select(Publication.channel_id).where(
        p.scope(Publication.opd_id), Publication.status == PublicationStatus.HELD)))
    manageable = [o for o in editable_opds(s, p) if p.has_role(o.id, Role.APPROVER)]
    kind = request.args.get("kind", "")
    classes = _kinds()
    return render_template(
        "ui/channels.html", rows=rows, opds={o.id: o for o in opds}, held=waiting,
        manageable=manageable, classes=classes, kind=kind if kind in classes else "",
        fields=fields_of(kind) if kind in classes else [], days=DAYS, now=utcnow(),
    )


@bp.post("/saluran")
def create() -> Response:
    """Add a channel of the chosen kind."""
    s, p, runtime = session_(), principal(), g.runtime
    kind = request.form.get("kind", "")
    if kind not in _kinds():
        flash(_("Jenis saluran tidak dikenal."), "error")
        return redirect(url_for("ui_channels.index"))
    config, secrets = _form_config(kind)
    opd_id = parse_id(request.form.get("opd")) or 0  # none: the service says "not found"
    connecting = connector(kind)
    if connecting is not None:
        # A kind that checks the account first (e.g. WordPress) does it over the network:
        # only for someone who may add it; end the request's transaction before, and create
        # the channel after.
        if not p.has_role(opd_id, Role.APPROVER):
            flash(_("Hanya PPID Pelaksana (approver) atau admin yang mengatur saluran."), "error")
            return redirect(url_for("ui_channels.index"))
        s.rollback()
        try:
            config, secrets = connecting.connect(config, secrets, runtime.settings)
        except ConfigError as exc:
            flash(f"{exc.field}: {exc.message}", "error")
            return redirect(url_for("ui_channels.index", kind=kind))
    channel = attempt(lambda: channel_service.create_channel(
        s, p, runtime, opd_id, kind, request.form.get("name", ""),
        config=config, secrets=secrets, schedule=_form_schedule(),
        min_interval_seconds=_interval(),
    ), _("Saluran ditambahkan."))
    if channel is None:
        return redirect(url_for("ui_channels.index", kind=kind))
    return redirect(url_for("ui_channels.show", channel_id=channel.id))


@bp.get("/saluran/<id:channel_id>")
def show(channel_id: int) -> str:
    """One channel: settings (no secrets), health, reconnect form."""
    s, p = session_(), principal()
    try:
        channel = channel_service.get_channel(s, p, channel_id)
    except ServiceError:
        abort(404)
    held = s.scalar(select(func.count()).where(Publication.channel_id == channel.id,
                                               Publication.status == PublicationStatus.HELD))
    health = health_out(channel, wait=platform_waits(s, [channel.id]).get(channel.id))
    try:
        cls: Any = channel_class(channel.kind)
        fields = fields_of(channel.kind)
    except UnknownChannelKind:
        cls, fields = None, []
    return render_template(
        "ui/channel.html", channel=channel, cls=cls, fields=fields, held=held, days=DAYS,
        health=health,
        can_manage=p.has_role(channel.opd_id, Role.APPROVER), now=utcnow(),
        has_secrets=bool(channel.secrets_encrypted),
    )


@bp.post("/saluran/<id:channel_id>")
def update(channel_id: int) -> Response:
    """Change settings; new secrets reconnect (held publications are released)."""
    s, p, runtime = session_(), principal(), g.runtime
    channel = attempt(lambda: channel_service.get_channel(s, p, channel_id))
    if channel is None:
        return redirect(url_for("ui_channels.index"))
    form_config, secrets = _form_config(channel.kind)
    config: dict[str, Any] | None = form_config
    changed: dict[str, Any] | None = secrets or None
    if connector(channel.kind) is not None:
        # New credentials of a kind that connects (WordPress) are checked with the site first:
        # end the request's transaction before the network call.
        s.rollback()
        try:
            config, changed = reconnect(runtime, p, channel_id, config, changed)
        except ServiceError as exc:
            flash(f"{exc.field}: {exc.message}" if exc.field else exc.message, "error")
            return redirect(url_for("ui_channels.show", channel_id=channel_id))
    attempt(lambda: channel_service.update_channel(
        s, p, runtime, channel_id, name=request.form.get("name"), config=config,
        secrets=changed, schedule=_form_schedule(),
        min_interval_seconds=_interval(),
    ), _("Kredensial baru disimpan; saluran tersambung.") if secrets else _("Saluran disimpan."))
    return redirect(url_for("ui_channels.show", channel_id=channel_id))


@bp.post("/saluran/<id:channel_id>/jeda")
def pause(channel_id: int) -> Response:
    """Pause: publications are held, not dropped."""
    s, p = session_(), principal()
    attempt(lambda: channel_service.pause_channel(s, p, channel_id), _("Saluran dijeda."))
    return redirect(url_for("ui_channels.show", channel_id=channel_id))


@bp.post("/saluran/<id:channel_id>/lanjutkan")
def resume(channel_id: int) -> Response:
    """Resume a paused channel; held publications go out."""
    s, p = session_(), principal()
    released = attempt(lambda: channel_service.resume_channel_by_id(s, p, channel_id))
    if released is not None:
        flash(_("Saluran aktif kembali; %(n)d publikasi dilepas.", n=released), "success")
    return redirect(url_for("ui_channels.show", channel_id=channel_id))


@bp.post("/saluran/<id:channel_id>/uji")
def test(channel_id: int) -> Response:
    """Run the channel's check (outside any database session) and store the result."""
    session_().rollback()  # end the request's transaction: no session across the network call
    try:
        health = channel_service.check_channel(g.runtime, principal(), channel_id)
    except NotFound:
        abort(404)
    except Forbidden:
        abort(403)
    ok, detail = health.ok, health.detail
    flash(_("Uji saluran berhasil: %(d)s", d=detail) if ok
          else _("Uji saluran gagal: %(d)s", d=detail), "success" if ok else "error")
    return redirect(url_for("ui_channels.show", channel_id=channel_id))
