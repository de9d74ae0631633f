"""PDF documents for the Daftar Informasi yang Dikecualikan (DIK), UU 14/2008 Pasal 17.

Two documents, rendered from plain frozen dataclasses (no database access here):

* the *Berita Acara Uji Konsekuensi* of one exempted item (A4 portrait), signed by the
  PPID Pelaksana and approved (pengesahan) by the atasan PPID;
* the *Penetapan DIK* listing every item in force for one OPD (A4 landscape).

Both are byte-stable: the same dataclass gives the same bytes on every call and in every
process (fixed creation date, producer and ``/ID``, deterministic QR image), so a published
PDF can be re-rendered and compared, and its :func:`data_hash` printed in the footer can be
checked on the public verification page that the QR code points to.

The rendering (fpdf2 and segno, some 30 MB once imported) lives in :mod:`publisher.dik_pdf`
and is imported the first time a document is made, not by every process that only needs the
documents' data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from .sanitize import printable

__all__ = [
    "CONCLUSION_LABELS",
    "BeritaAcara",
    "Penetapan",
    "PenetapanRow",
    "Signatory",
    "berita_acara_pdf",
    "data_hash",
    "pdf_text",
    "penetapan_pdf",
]


@dataclass(frozen=True)
class Signatory:
    """One signature block."""

    role_label: str  # "PPID Pelaksana" / "Atasan PPID (Kepala Dinas ...)" / "Sekretaris Daerah"
    name: str
    nip: str  # 18 digits, shown as "NIP. 198001012010011001"
    jabatan: str
    signed_at: str  # already formatted, e.g. "2 Desember 2026 10.15 WIB"


@dataclass(frozen=True)
class BeritaAcara:
    """Berita Acara Uji Konsekuensi of one item of the DIK."""

    number: str  # e.g. "BA-UK/003/DISKOMINFO/2026"
    pemda_name: str  # "Pemerintah Kabupaten Serdang Bedagai"
    opd_name: str
    opd_address: str
    title: str  # the information exempted
    description: str
    documents: str  # documents / kinds of documents covered
    article_letter: str  # Pasal 17 letter a..j
    legal_basis: str  # the article/UU grounding it
    holder_unit: str  # unit that holds the information
    harm: str  # konsekuensi (bahaya) bila dibuka
    public_interest: str  # kepentingan publik bila dibuka
    weighing: str  # pertimbangan
    conclusion: str  # "ditutup" | "dibuka" | "dibuka_sebagian"
    period: str  # "sampai dengan 31 Desember 2030" or "sampai <event>"
    review_date: date | None
    members: tuple[str, ...]  # the test's members (names with jabatan)
    place: str
    test_date: date
    version: int
    signatories: tuple[Signatory, ...]
    verify_url: str  # public page showing the hash and whether still in force
    approved_at: datetime  # aware; the PDF creation date (byte stability)


@dataclass(frozen=True)
class PenetapanRow:
    """One line of the Penetapan DIK table."""

    number: int
    title: str
    article_letter: str
    legal_basis: str
    holder_unit: str
    period: str
    berita_acara_number: str


@dataclass(frozen=True)
class Penetapan:
    """Penetapan DIK: every item in force for one OPD."""

    number: str
    pemda_name: str
    opd_name: str
    opd_address: str
    place: str
    decided_on: date
    rows: tuple[PenetapanRow, ...]
    signatory: Signatory
    verify_url: str
    as_of: datetime  # aware; the PDF creation date (byte stability)


CONCLUSION_LABELS: dict[str, str] = {
    "ditutup": "Ditutup (dikecualikan)",
    "dibuka": "Dibuka",
    "dibuka_sebagian": "Dibuka sebagian, dengan penghitaman",
}

WEEKDAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")

UU_KIP = "Undang-Undang Nomor 14 Tahun 2008 tentang Keterbukaan Informasi Publik"

PRODUCER = "opd-publisher (fpdf2)"

# --- text ----------------------------------------------------------------------------------

#: Typographic characters that word processors put into pasted text, with their latin-1
#: stand-ins.  Anything else outside latin-1 becomes "?".
_REPLACEMENTS = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u2033": '"',  # ″
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2015": "-",  # horizontal bar
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # ellipsis
    "\u2022": "-",  # bullet
    "\u00a0": " ",  # no-break space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow no-break space
    "\u200b": "",  # zero-width space
    "\u00ad": "",  # soft hyphen
    "\ufeff": "",  # byte-order mark
    "\t": " ",
    "\r\n": "\n",
    "\r": "\n",
}


def pdf_text(value: str) -> str:
    """Text the PDF core fonts can show.

    The documents use fpdf2's built-in Helvetica so that no font file has to be shipped
    or embedded (smaller, and stable bytes), but the core fonts only cover latin-1 and
    fpdf2 raises on anything else.  Text pasted from word processors is full of curly
    quotes, dashes, ellipses and no-break spaces, so those become their ASCII look-alikes;
    accents are composed (NFC) so "é" stays "é"; any other character becomes "?" rather
    than failing the whole document.
    """
    text = printable(unicodedata.normalize("NFC", value))  # old rows: no control characters
    for old, new in _REPLACEMENTS.items():
        text = text.replace(old, new)
    return text.encode("latin-1", errors="replace").decode("latin-1")


def weekday_name(day: date) -> str:
    """``Rabu`` for a Wednesday."""
    return WEEKDAYS[day.weekday()]


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def data_hash(doc: BeritaAcara | Penetapan) -> str:
    """sha256 (hex) over a canonical JSON of the dataclass (dates as ISO 8601).

    The type name is part of the hashed object, keys are sorted, and text is hashed as
    given (before :func:`pdf_text`), so the hash identifies the data, not the rendering.
    """
    payload = {"type": type(doc).__name__, "data": _canonical(dataclasses.asdict(doc))}
    encoded = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _utc(moment: datetime, field: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware")
    return moment.astimezone(UTC)


def berita_acara_pdf(doc: BeritaAcara) -> bytes:
    """The Berita Acara Uji Konsekuensi of ``doc`` as PDF bytes (A4 portrait)."""
    from .dik_pdf import berita_acara_pdf as render

    return render(doc)


def penetapan_pdf(doc: Penetapan) -> bytes:
    """The Penetapan DIK of ``doc`` as PDF bytes (A4 landscape)."""
    from .dik_pdf import penetapan_pdf as render

    return render(doc)
