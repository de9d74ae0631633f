"""The kinds of notification, each with its default delivery and its texts in Bahasa Indonesia
and English. Texts are plain: every sender escapes them for its own format, and adds the link
(kept as a path, made absolute with the public base URL when sent). Pass dates as
:class:`~datetime.date` values (already in the OPD's zone): they are written in the reader's
language ("5 Desember 2026", "5 December 2026")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..models import Delivery
from ..register import long_date

_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _text(value: Any, lang: str) -> str:
    if value is None:
        return ""
    if isinstance(value, date):  # dates are passed as dates and written in the language
        day = value.date() if isinstance(value, datetime) else value
        return long_date(day) if lang == "id" else (
            f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}")
    return str(value)


@dataclass(frozen=True)
class Kind:
    """One kind of notification."""

    name: str
    label: dict[str, str]  # for the preferences page
    default: Delivery
    subject: dict[str, str]
    body: dict[str, str]
    #: Sent only to the PPID Utama (admins): not offered to anyone else on the preferences page.
    ppid_utama_only: bool = False

    def render(self, locale: str, context: dict[str, Any]) -> tuple[str, str]:
        """(subject, body) in ``locale`` (Indonesian when not translated)."""
        lang = locale if locale in self.subject else "id"
        values = {k: _text(v, lang) for k, v in context.items()}
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

ITEM_PUBLISHED = Kind(
    "item_published",
    {"id": "Informasi Anda telah terbit", "en": "Your information was published"},
    Delivery.INAPP,
    {"id": "Terbit: {title}", "en": "Published: {title}"},
    {"id": "\"{title}\" ({opd}) telah terbit:\n{links}",
     "en": "\"{title}\" ({opd}) was published:\n{links}"},
)
PUBLICATION_FAILED = Kind(
    "publication_failed",
    {"id": "Publikasi gagal", "en": "Publication failed"},
    Delivery.EMAIL,
    {"id": "Gagal terbit di {channel}: {title}", "en": "Not published on {channel}: {title}"},
    {"id": "\"{title}\" ({opd}) tidak dapat diterbitkan di {channel} dan tidak akan dicoba "
           "lagi.\n\nAlasan: {error}",
     "en": "\"{title}\" ({opd}) could not be published on {channel} and will not be retried."
           "\n\nReason: {error}"},
)
PUBLICATION_UNCONFIRMED = Kind(
    "publication_unconfirmed",
    {"id": "Publikasi perlu dicek", "en": "Publication needs checking"},
    Delivery.EMAIL,
    {"id": "Perlu dicek di {channel}: {title}", "en": "Check {channel}: {title}"},
    {"id": "Pengiriman \"{title}\" ({opd}) ke {channel} mungkin sudah tayang, tetapi "
           "platform belum dapat memastikannya. Sistem tidak akan mengirimnya lagi tanpa "
           "memeriksa dulu, dan terus memeriksa secara berkala. Silakan lihat di {channel} "
           "apakah kiriman itu sudah ada.\n\nKeterangan: {error}",
     "en": "\"{title}\" ({opd}) may already be on {channel}, but the platform could not "
           "confirm it yet. It will not be sent again without checking first, and the check "
           "is repeated regularly. Please look at {channel} to see whether the post is "
           "there.\n\nDetails: {error}"},
)
CHANNEL_HELD = Kind(
    "channel_held",
    {"id": "Saluran ditahan / perlu dihubungkan ulang",
     "en": "Channel held / needs to be reconnected"},
    Delivery.EMAIL,
    {"id": "Saluran perlu dihubungkan ulang: {channel}",
     "en": "Channel needs reconnecting: {channel}"},
    {"id": "Saluran {channel} ({opd}) ditahan: publikasinya menunggu sampai saluran dihubungkan "
           "ulang.\n\nAlasan: {error}",
     "en": "Channel {channel} ({opd}) is held: its publications wait until it is reconnected."
           "\n\nReason: {error}"},
)
TOKEN_EXPIRING = Kind(
    "token_expiring",
    {"id": "Token Meta segera kedaluwarsa", "en": "Meta token expiring soon"},
    Delivery.EMAIL,
    {"id": "Token {channel} kedaluwarsa {expires}", "en": "{channel} token expires {expires}"},
    {"id": "Akses ke {channel} ({opd}) berakhir pada {expires}. Hubungkan ulang sebelum "
           "tanggal itu agar publikasi tidak tertahan.",
     "en": "Access to {channel} ({opd}) ends on {expires}. Reconnect it before then so "
           "publications are not held."},
)
BERKALA_OVERDUE = Kind(
    "berkala_overdue",
    {"id": "Informasi berkala terlambat diperbarui", "en": "Periodic information overdue"},
    Delivery.EMAIL,
    {"id": "Informasi berkala terlambat: {title}", "en": "Periodic information overdue: {title}"},
    {"id": "Informasi berkala \"{title}\" ({opd}) seharusnya diperbarui paling lambat {due}.",
     "en": "The periodic information \"{title}\" ({opd}) was due to be updated by {due}."},
)
DIK_REVIEW_DUE = Kind(
    "dik_review_due",
    {"id": "Pengecualian perlu ditinjau", "en": "Exemption due for review"},
    Delivery.EMAIL,
    {"id": "Tinjau pengecualian: {title}", "en": "Review the exemption: {title}"},
    {"id": "Pengecualian \"{title}\" ({opd}) perlu ditinjau ulang paling lambat {date}.",
     "en": "The exemption \"{title}\" ({opd}) is due for review by {date}."},
)
DIK_ENDING = Kind(
    "dik_ending",
    {"id": "Masa pengecualian segera berakhir", "en": "Exemption period ending"},
    Delivery.EMAIL,
    {"id": "Pengecualian berakhir {date}: {title}", "en": "Exemption ends {date}: {title}"},
    {"id": "Masa pengecualian \"{title}\" ({opd}) berakhir pada {date}. Sesudahnya informasi "
           "ini terbuka kecuali ditetapkan ulang.",
     "en": "The exemption period of \"{title}\" ({opd}) ends on {date}. After that the "
           "information is open unless it is designated again."},
)
SERTA_MERTA_SENT = Kind(
    "serta_merta_sent",
    {"id": "Informasi serta-merta diumumkan", "en": "Immediate (serta-merta) information sent"},
    Delivery.EMAIL,
    {"id": "Serta-merta: {title} ({opd})", "en": "Serta-merta: {title} ({opd})"},
    {"id": "{opd} mengumumkan informasi serta-merta \"{title}\":\n{links}",
     "en": "{opd} announced the immediate information \"{title}\":\n{links}"},
    ppid_utama_only=True,
)
CADENCE_BELOW_TARGET = Kind(
    "cadence_below_target",
    {"id": "Frekuensi unggahan di bawah target", "en": "Posting cadence below target"},
    Delivery.EMAIL,
    {"id": "{opd}: {count} unggahan minggu lalu (target {target})",
     "en": "{opd}: {count} posts last week (target {target})"},
    {"id": "{opd} menerbitkan {count} informasi pada minggu {week}; target Monev paling "
           "sedikit {target} per minggu.",
     "en": "{opd} published {count} items in the week of {week}; the Monev target is at "
           "least {target} a week."},
)
ESCALATED_BERKALA = Kind(
    "escalated_berkala",
    {"id": "Eskalasi: informasi berkala terlambat",
     "en": "Escalation: periodic information overdue"},
    Delivery.EMAIL,
    {"id": "Eskalasi: {opd} terlambat {days} hari", "en": "Escalation: {opd} {days} days overdue"},
    {"id": "Informasi berkala \"{title}\" ({opd}) terlambat {days} hari dari batas {due}.",
     "en": "The periodic information \"{title}\" ({opd}) is {days} days past its due date "
           "{due}."},
    ppid_utama_only=True,
)
ESCALATED_APPROVAL = Kind(
    "escalated_approval",
    {"id": "Eskalasi: persetujuan tertunda", "en": "Escalation: approval waiting"},
    Delivery.EMAIL,
    {"id": "Eskalasi: \"{title}\" menunggu {hours} jam", "en": "Escalation: \"{title}\" "
     "waiting {hours} hours"},
    {"id": "\"{title}\" ({opd}) sudah {hours} jam menunggu persetujuan.",
     "en": "\"{title}\" ({opd}) has been awaiting approval for {hours} hours."},
    ppid_utama_only=True,
)
ESCALATED_CHANNEL = Kind(
    "escalated_channel",
    {"id": "Eskalasi: saluran ditahan", "en": "Escalation: channel held"},
    Delivery.EMAIL,
    {"id": "Eskalasi: {channel} ({opd}) ditahan {hours} jam",
     "en": "Escalation: {channel} ({opd}) held for {hours} hours"},
    {"id": "Saluran {channel} ({opd}) sudah {hours} jam ditahan.\n\nAlasan: {error}",
     "en": "Channel {channel} ({opd}) has been held for {hours} hours.\n\nReason: {error}"},
    ppid_utama_only=True,
)

KINDS: dict[str, Kind] = {k.name: k for k in (
    ITEM_SUBMITTED, ITEM_RETURNED, ITEM_PUBLISHED, PUBLICATION_FAILED,
    PUBLICATION_UNCONFIRMED, CHANNEL_HELD,
    TOKEN_EXPIRING, BERKALA_OVERDUE, DIK_SUBMITTED, DIK_REVIEW_DUE, DIK_ENDING,
    SERTA_MERTA_SENT, CADENCE_BELOW_TARGET, ESCALATED_BERKALA, ESCALATED_APPROVAL,
    ESCALATED_CHANNEL)}

#: The daily digest that carries the rows a person chose to receive once a day (not a
#: preference of its own).
DIGEST = Kind(
    "digest",
    {"id": "Ringkasan harian", "en": "Daily digest"},
    Delivery.EMAIL,
    {"id": "Ringkasan harian: {count} notifikasi", "en": "Daily digest: {count} notifications"},
    {"id": "{entries}", "en": "{entries}"},
)
