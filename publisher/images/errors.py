"""The one error type of the image pipeline, with a stable code and the HTTP status it maps to."""

from __future__ import annotations

#: Stable error codes, and the HTTP status the API layer answers for each.
HTTP_STATUS: dict[str, int] = {
    "empty": 422,
    "too_large": 413,
    "unsupported_type": 415,
    "too_many_pixels": 422,
    "broken": 422,
    "variant_too_large": 422,
}


class ImageError(Exception):
    """An upload or image that cannot be used.

    ``code`` is one of :data:`HTTP_STATUS` (stable, for programs), ``message`` is shown to the
    operator (Bahasa Indonesia first, names the problem), ``detail`` is technical context for logs.
    """

    def __init__(self, code: str, message: str, *, detail: str = "") -> None:
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown image error code: {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = detail

    @property
    def http_status(self) -> int:
        """413 too large, 415 unsupported type, 422 broken/bomb/unusable."""
        return HTTP_STATUS[self.code]

    def __repr__(self) -> str:
        return f"ImageError({self.code!r}, {self.message!r})"
