"""Password hashing and API tokens (stored as SHA-256, shown once)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

#: The shortest password accepted anywhere (services, CLI, admin UI).
MIN_PASSWORD_LENGTH = 10

TOKEN_PREFIX = "opdp_"  # noqa: S105 - a marker, not a secret
_TOKEN_SHAPE = re.compile(r"^opdp_[A-Za-z0-9_-]{32,64}$")


#: scrypt with werkzeug's default cost (N=2^15, r=8, p=1: about 80 ms a hash). Nothing in the
#: environment lowers it: the test suite replaces this constant in its own process (as Django
#: suites swap in a fast hasher). A hash carries its own parameters, so checking works
#: whichever cost made it.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - the hasher, not a password


def hash_password(password: str) -> str:
    """A salted scrypt hash."""
    return generate_password_hash(password, method=PASSWORD_METHOD)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time check of a password against its hash."""
    return check_password_hash(password_hash, password)


@functools.cache
def dummy_password_hash() -> str:
    """A hash of a random password, made once with the same hasher: sign-in checks a missing
    or inactive user's password against it, so both answers take the same work."""
    return hash_password(secrets.token_urlsafe(16))


def new_password() -> str:
    """A one-time password people can type."""
    return secrets.token_urlsafe(12)


def new_api_token() -> tuple[str, str, str]:
    """A fresh token: (token shown once, prefix for display, SHA-256 to store)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, token[:12], token_digest(token)


def token_digest(token: str) -> str:
    """SHA-256 hex of a token (tokens are random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed_token(token: str) -> bool:
    """Whether a presented token has our shape (checked before any lookup)."""
    return bool(_TOKEN_SHAPE.match(token))


def header_safe(text: str) -> bool:
    """``text`` can travel in an HTTP header or URL as it is: printable ASCII, no CR/LF."""
    return text.isascii() and text.isprintable()


#: The message for a secret that :func:`header_safe` refuses (Bahasa Indonesia first).
HEADER_UNSAFE = ("hanya huruf, angka dan tanda baca ASCII, tanpa baris baru (only printable "
                 "ASCII)")


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
