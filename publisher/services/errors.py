"""Errors raised by services; each names the problem and, where it applies, the field."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class; ``status`` is the HTTP status the API answers with."""

    status = 400
    title = "Permintaan tidak valid"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    """The thing does not exist, or the user may not see it (never reveal which)."""

    status = 404
    title = "Tidak ditemukan"


class Forbidden(ServiceError):
    """The user may see it but not do this."""

    status = 403
    title = "Tidak diizinkan"


class Invalid(ServiceError):
    """Input that breaks a rule (a time in the past, an unknown timezone, ...)."""

    status = 422
    title = "Data tidak valid"


class Conflict(ServiceError):
    """The current state does not allow it (e.g. sending already started)."""

    status = 409
    title = "Konflik status"


class ExemptInformation(Invalid):
    """Dikecualikan information can never be approved, scheduled or published."""

    title = "Informasi dikecualikan tidak boleh dipublikasikan"
