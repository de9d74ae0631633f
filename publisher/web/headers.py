"""Security headers on every response (one ``after_request`` hook for the whole app).

Blueprints that know better keep their own values (the site's script-free CSP, the media
sandbox, cacheable feeds): everything here is ``setdefault`` except ``Cache-Control`` on the
API and the admin UI, which is always ``no-store`` because those answers are per-user.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from werkzeug.wrappers import Response

#: No inline script or style anywhere: the admin UI loads ``static/ui/app.js`` and CSS files
#: only; images may be previews of remote pictures (https) or small data: URLs.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000"
#: Answers that depend on who asks and must never be kept by a browser or proxy.
NO_STORE_PREFIXES = ("/api/", "/admin/")


def security_headers(response: Response) -> Response:
    """Add the security headers to ``response`` (see the module docstring)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    private = request.path.startswith(NO_STORE_PREFIXES) or request.path in ("/api", "/admin")
    headers.setdefault("Referrer-Policy",
                       "same-origin" if private else "strict-origin-when-cross-origin")
    if private:
        headers["Cache-Control"] = "no-store"
    base_url = str(current_app.config.get("PUBLISHER", {}).get("public_base_url", ""))
    if base_url.startswith("https://"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    """Register :func:`security_headers` on ``app``."""
    app.after_request(security_headers)
