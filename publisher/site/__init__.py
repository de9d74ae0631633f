"""The built-in OPD public website: portal, OPD and item pages, feeds, the DIP, public media.

Only published, non-exempt information is ever shown (see ``publisher.site.queries``).
"""

from __future__ import annotations

from flask import Flask

from . import auditlog, dik, dip, feeds, media, pages, variants


def init_app(app: Flask) -> None:
    """Register the site's blueprints on ``app``."""
    for blueprint in (pages.bp, feeds.bp, dip.bp, dik.bp, media.bp, variants.bp,
                      auditlog.bp):
        app.register_blueprint(blueprint)
