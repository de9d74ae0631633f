"""The one check for every ``next`` the service redirects to: a path on this site, or nothing.

Browsers are lenient where an attacker wants them to be: they treat ``\\`` as ``/``, drop tab,
CR and LF anywhere in a URL and trim leading spaces and control characters, so ``/\\evil``,
``/\\t/evil`` and `` //evil`` all mean ``//evil``, another host. The check therefore accepts
only a plain absolute path and refuses anything a browser might read otherwise.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

#: Longer values are refused (a real page path on this site is far shorter).
MAX_NEXT_LENGTH = 2000


def _plain_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith("//"):
        return False
    if "\\" in value or not value.isprintable():  # control, format and separator characters
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc


def safe_next(value: object) -> str | None:
    """``value`` when it is a relative path on this site (``/admin/antrean?x=1``), else None.

    Refused: schemes (``javascript:``, ``http:``, ``data:``), ``//``, any backslash, any
    control or invisible character, other hosts, overlong values, and values that become any
    of these after one more round of percent-decoding.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return None
    if not _plain_path(value) or not _plain_path(unquote(value)):
        return None
    return value
