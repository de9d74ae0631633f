"""Secrets at rest: channel tokens and passwords encrypted with keys derived from configuration.

The key is derived from ``PUBLISHER_SECRET_KEY`` with HKDF; earlier keys listed in
``PUBLISHER_OLD_SECRET_KEYS`` still decrypt, so the key can be rotated and ``rotate`` re-encrypts
everything with the new key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"opd-publisher channel secrets v1"


class SecretsError(RuntimeError):
    """Stored secrets cannot be decrypted with any configured key."""


def _derive(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


class SecretBox:
    """Encrypts and decrypts small JSON documents of secrets."""

    def __init__(self, secret_key: str, old_keys: Iterable[str] = ()) -> None:
        self._fernet = MultiFernet([_derive(secret_key), *(_derive(k) for k in old_keys)])

    def encrypt(self, secrets: dict[str, Any]) -> str:
        """Encrypt a dict of secrets to text safe to store."""
        return self._fernet.encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        """Decrypt what :meth:`encrypt` produced; an empty value is an empty dict."""
        if not token:
            return {}
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken:
            raise SecretsError(
                "stored credentials cannot be decrypted: was PUBLISHER_SECRET_KEY changed "
                "without listing the old key in PUBLISHER_OLD_SECRET_KEYS?"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt with the current key."""
        return self._fernet.rotate(token.encode()).decode()
