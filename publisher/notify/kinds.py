"""The kinds of notification, each with its default delivery and its texts in Bahasa Indonesia
and English. Texts are plain: every sender escapes them for its own format, and adds the link
(kept as a path, made absolute with the public base URL when sent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Delivery


@dataclass(frozen=True)
class Kind:
    """One kind of notification."""

    name: str
    label: dict[str, str]  # for the preferences page
    default: Delivery
    subject: dict[str, str]
    body: dict[str, str]

    def render(self, locale: str, context: dict[str, Any]) -> tuple[str, str]:
        """(subject, body) in ``locale`` (Indonesian when not translated)."""
        lang = locale if locale in self.subject else "id"
        values = {k: "" if v is None else str(v) for k, v in context.items()}
        return self.subject[lang].format_map(values), self.body[lang].format_map(values)


ITEM_SUBMITTED = Kind(
    "item_submitted",
    {"id": "Informasi menunggu persetujuan Anda", "en": "Information awaiting your approval"},
    Delivery.EMAIL,
    {"id": "Menunggu persetujuan: {title}", "en": "Awaiting approval: {title}"},
    {"id": "{actor} mengajukan \"{title}\" ({opd}) untuk disetujui.",
     "en": "{actor} submitted \"{title}\" ({opd}) for approval."},
)
ITEM_RETURNED = Kind(
    "item_returned",
    {"id": "Informasi Anda dikembalikan", "en": "Your information was returned"},
    Delivery.EMAIL,
    {"id": "Dikembalikan: {title}", "en": "Returned: {title}"},
    {"id": "{actor} mengembalikan \"{title}\" dengan catatan:\n\n{comment}",
     "en": "{actor} returned \"{title}\" with this comment:\n\n{comment}"},
)
DIK_SUBMITTED = Kind(
    "dik_submitted",
    {"id": "Uji konsekuensi menunggu pengesahan Anda",
     "en": "Consequence test awaiting your approval"},
    Delivery.EMAIL,
    {"id": "Menunggu pengesahan: {title}", "en": "Awaiting approval: {title}"},
    {"id": "{actor} mengajukan uji konsekuensi \"{title}\" ({opd}) untuk Anda sahkan.",
     "en": "{actor} submitted the consequence test \"{title}\" ({opd}) for your approval."},
)

KINDS: dict[str, Kind] = {k.name: k for k in (ITEM_SUBMITTED, ITEM_RETURNED, DIK_SUBMITTED)}
