"""Rendering of the DIK documents (:mod:`publisher.dik_documents` holds their data): fpdf2
with its built-in Helvetica, a segno QR code, byte-stable output."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

import segno
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from .dik_documents import (
    CONCLUSION_LABELS,
    PRODUCER,
    UU_KIP,
    BeritaAcara,
    Penetapan,
    Signatory,
    _utc,
    data_hash,
    pdf_text,
    weekday_name,
)
from .register import long_date


def _qr_png(url: str) -> io.BytesIO:
    """The QR code of ``url`` as PNG bytes (segno is deterministic: same URL, same bytes)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=4, border=2)
    buffer.seek(0)
    return buffer


# --- the PDF -------------------------------------------------------------------------------

FOOTER_HEIGHT = 24.0  # mm reserved at the bottom of each page for the footer
QR_SIZE = 18.0  # mm
LINE = 5.0  # mm line height of body text
BODY_SIZE = 10
_LABEL_STYLE = FontFace(emphasis="BOLD")
_HEADING_STYLE = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))


class _Document(FPDF):
    """FPDF with the verification footer and a data-derived ``/ID``."""

    def __init__(
        self,
        orientation: Literal["portrait", "landscape"],
        *,
        digest: str,
        footer_label: str,
        verify_url: str,
        created: datetime,
        title: str,
    ) -> None:
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self._digest = digest
        self._footer_label = pdf_text(footer_label)
        self._verify_url = pdf_text(verify_url)
        self._qr = _qr_png(verify_url)
        self.set_margins(20, 15, 20)
        self.set_auto_page_break(True, margin=FOOTER_HEIGHT + 6)
        self.set_creation_date(created)
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)
        self.set_title(pdf_text(title))
        self.set_lang("id")
        self.set_font("Helvetica", size=BODY_SIZE)

    def file_id(self) -> str:
        """``/ID`` from the data hash, not from fpdf2's md5 of the output."""
        half = self._digest[:32].upper()
        return f"<{half}><{half}>"

    def footer(self) -> None:
        """Rule, ``Versi N · sha256 ...``, page number, and the QR code with its URL."""
        top = self.h - FOOTER_HEIGHT
        self.set_draw_color(0)
        self.set_line_width(0.2)
        self.line(self.l_margin, top, self.w - self.r_margin, top)
        self.image(self._qr, x=self.w - self.r_margin - QR_SIZE, y=top + 2, w=QR_SIZE)
        text_w = self.w - self.l_margin - self.r_margin - QR_SIZE - 3
        self.set_xy(self.l_margin, top + 2.5)
        self.set_font("Helvetica", size=7.5)
        self.multi_cell(
            text_w, 3.6, f"{self._footer_label} \u00b7 sha256 {self._digest}",
            align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )
        self.set_x(self.l_margin)
        self.multi_cell(
            text_w, 3.6, f"Periksa keaslian dan keberlakuan: {self._verify_url}",
            align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )
        self.set_x(self.l_margin)
        self.cell(text_w, 3.6, f"Halaman {self.page_no()} dari {{nb}}", align="L")
        self.set_font("Helvetica", size=BODY_SIZE)

    # -- building blocks --------------------------------------------------------------------

    def kop(self, pemda_name: str, opd_name: str, address: str) -> None:
        """Letterhead: pemda, OPD (bold), address, and a double rule under it."""
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 6, pdf_text(pemda_name).upper(), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", "B", 14)
        self.multi_cell(0, 7, pdf_text(opd_name).upper(), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", size=9)
        self.multi_cell(0, 4.5, pdf_text(address), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        y = self.get_y() + 1.5
        self.set_line_width(0.8)
        self.line(self.l_margin, y, self.w - self.r_margin, y)
        self.set_line_width(0.2)
        self.line(self.l_margin, y + 1.2, self.w - self.r_margin, y + 1.2)
        self.set_y(y + 5)
        self.set_font("Helvetica", size=BODY_SIZE)

    def heading(self, title: str, number: str) -> None:
        """Centred bold title and ``Nomor: ...``."""
        self.set_font("Helvetica", "B", 12)
        self.multi_cell(0, 6, pdf_text(title), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", size=BODY_SIZE)
        self.multi_cell(0, LINE, pdf_text(f"Nomor: {number}"), align="C",
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(4)

    def paragraph(self, text: str, align: str = "J") -> None:
        """A wrapped body paragraph."""
        self.set_font("Helvetica", size=BODY_SIZE)
        self.multi_cell(0, LINE, pdf_text(text), align=align,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def chunks(self, text: str, width: float, max_lines: int) -> list[str]:
        """``text`` wrapped at ``width`` and cut into pieces of at most ``max_lines`` lines.

        A table row is never split by fpdf2 in a tidy way, so a very long value becomes
        several rows, each of which fits on a page.
        """
        lines = self.multi_cell(width, LINE, text, dry_run=True, output="LINES")
        if not isinstance(lines, list):  # fpdf2 types the return value as a union
            raise TypeError("multi_cell(output='LINES') did not return lines")
        if not lines:
            return [""]
        return ["\n".join(lines[i:i + max_lines]) for i in range(0, len(lines), max_lines)]

    def signatures(self, signatories: Sequence[Signatory], columns: int = 2) -> None:
        """Signature blocks side by side (``columns`` per line), kept whole on one page."""
        block_h = 52.0
        for start in range(0, len(signatories), columns):
            group = signatories[start:start + columns]
            if self.get_y() + block_h > self.page_break_trigger:
                self.add_page()
            col_w = self.epw / columns
            top = self.get_y()
            bottom = top
            # A single signatory of a line stands on the right, as in a letter.
            offset = (columns - len(group)) * col_w
            for i, sig in enumerate(group):
                x = self.l_margin + offset + i * col_w
                self.set_xy(x, top)
                self.set_font("Helvetica", "B", BODY_SIZE)
                self.multi_cell(col_w, LINE, pdf_text(sig.role_label), align="C",
                                new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.set_font("Helvetica", size=9)
                self.multi_cell(col_w, 4.5, pdf_text(sig.signed_at), align="C",
                                new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.set_xy(x, self.get_y() + 18)
                self.set_font("Helvetica", "BU", BODY_SIZE)
                self.multi_cell(col_w, LINE, pdf_text(sig.name), align="C",
                                new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.set_font("Helvetica", size=BODY_SIZE)
                self.multi_cell(col_w, LINE, pdf_text(f"NIP. {sig.nip}"), align="C",
                                new_x=XPos.LEFT, new_y=YPos.NEXT)
                self.multi_cell(col_w, LINE, pdf_text(sig.jabatan), align="C",
                                new_x=XPos.LEFT, new_y=YPos.NEXT)
                bottom = max(bottom, self.get_y())
            self.set_xy(self.l_margin, bottom + 6)
        self.set_font("Helvetica", size=BODY_SIZE)


def _conclusion_label(conclusion: str) -> str:
    try:
        return CONCLUSION_LABELS[conclusion]
    except KeyError:
        raise ValueError(f"unknown conclusion {conclusion!r}") from None


def berita_acara_pdf(doc: BeritaAcara) -> bytes:
    """The Berita Acara Uji Konsekuensi of ``doc`` as PDF bytes (A4 portrait)."""
    digest = data_hash(doc)
    letter = doc.article_letter.strip().lower()
    pdf = _Document(
        "portrait",
        digest=digest,
        footer_label=f"{doc.number} \u00b7 Versi {doc.version}",
        verify_url=doc.verify_url,
        created=_utc(doc.approved_at, "approved_at"),
        title=f"Berita Acara Uji Konsekuensi {doc.number}",
    )
    pdf.set_subject(pdf_text(doc.title))
    pdf.add_page()
    pdf.kop(doc.pemda_name, doc.opd_name, doc.opd_address)
    pdf.heading("BERITA ACARA UJI KONSEKUENSI\nINFORMASI YANG DIKECUALIKAN", doc.number)
    pdf.paragraph(
        f"Pada hari ini, {weekday_name(doc.test_date)} tanggal {long_date(doc.test_date)}, "
        f"bertempat di {doc.place}, Pejabat Pengelola Informasi dan Dokumentasi (PPID) "
        f"Pelaksana {doc.opd_name} bersama tim yang namanya tercantum di bawah ini telah "
        f"melaksanakan uji konsekuensi atas informasi publik yang diusulkan untuk "
        f"dikecualikan sesuai Pasal 17 huruf {letter} {UU_KIP}, dengan hasil sebagai berikut:"
    )
    pdf.ln(3)

    review = long_date(doc.review_date) if doc.review_date else "-"
    rows = [
        ("Informasi", doc.title),
        ("Uraian", doc.description),
        ("Dokumen", doc.documents),
        ("Dasar hukum", f"Pasal 17 huruf {letter} Undang-Undang Nomor 14 Tahun 2008; "
                        f"{doc.legal_basis}"),
        ("Unit penguasa informasi", doc.holder_unit),
        ("Konsekuensi bila dibuka", doc.harm),
        ("Kepentingan publik", doc.public_interest),
        ("Pertimbangan", doc.weighing),
        ("Kesimpulan", _conclusion_label(doc.conclusion)),
        ("Jangka waktu pengecualian", doc.period),
        ("Tanggal peninjauan kembali", review),
    ]
    label_w, padding = 48.0, 1.5
    value_w = pdf.epw - label_w
    with pdf.table(
        col_widths=(label_w, value_w), first_row_as_headings=False, text_align="LEFT",
        v_align="TOP", line_height=LINE, padding=padding, width=pdf.epw,
    ) as table:
        for label, value in rows:
            pieces = pdf.chunks(pdf_text(value), value_w - 2 * padding - 1, max_lines=40)
            for i, piece in enumerate(pieces):
                row = table.row()
                row.cell(label if i == 0 else f"{label} (lanjutan)", style=_LABEL_STYLE)
                row.cell(piece)
    pdf.ln(5)

    if doc.members:
        pdf.paragraph("Tim uji konsekuensi:", align="L")
        for i, member in enumerate(doc.members, start=1):
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(pdf.epw - 4, LINE, pdf_text(f"{i}. {member}"), align="L",
                           new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)
    pdf.paragraph(
        "Demikian berita acara ini dibuat dengan sebenarnya untuk dipergunakan sebagaimana "
        "mestinya."
    )
    pdf.ln(6)
    pdf.signatures(doc.signatories)
    return bytes(pdf.output())


def penetapan_pdf(doc: Penetapan) -> bytes:
    """The Penetapan Daftar Informasi yang Dikecualikan of ``doc`` as PDF bytes (A4 landscape)."""
    digest = data_hash(doc)
    as_of = _utc(doc.as_of, "as_of")
    pdf = _Document(
        "landscape",
        digest=digest,
        footer_label=(f"{doc.number} \u00b7 Keadaan per {long_date(as_of.date())} "
                      f"{as_of:%H.%M} UTC"),
        verify_url=doc.verify_url,
        created=as_of,
        title=f"Penetapan Daftar Informasi yang Dikecualikan {doc.number}",
    )
    pdf.set_subject(pdf_text(doc.opd_name))
    pdf.add_page()
    pdf.kop(doc.pemda_name, doc.opd_name, doc.opd_address)
    pdf.heading("PENETAPAN\nDAFTAR INFORMASI YANG DIKECUALIKAN", doc.number)
    pdf.paragraph(
        f"Berdasarkan Pasal 17 {UU_KIP} dan hasil uji konsekuensi yang tercantum pada berita "
        f"acara masing-masing, informasi publik pada {doc.opd_name} berikut ini ditetapkan "
        f"sebagai informasi yang dikecualikan:"
    )
    pdf.ln(3)
    headings = ("No", "Informasi yang dikecualikan", "Pasal 17 UU 14/2008", "Dasar hukum",
                "Unit penguasa informasi", "Jangka waktu pengecualian",
                "Berita acara uji konsekuensi")
    widths = (9.0, 58.0, 18.0, 52.0, 36.0, 32.0, 52.0)
    with pdf.table(
        col_widths=widths, text_align="LEFT", v_align="TOP", line_height=4.5, padding=1.2,
        width=pdf.epw, headings_style=_HEADING_STYLE, repeat_headings=1,
    ) as table:
        pdf.set_font("Helvetica", size=9)
        table.row(headings)
        if not doc.rows:
            row = table.row()
            row.cell("Tidak ada informasi yang dikecualikan.", colspan=len(headings))
        for item in doc.rows:
            table.row([
                str(item.number),
                pdf_text(item.title),
                f"huruf {item.article_letter.strip().lower()}",
                pdf_text(item.legal_basis),
                pdf_text(item.holder_unit),
                pdf_text(item.period),
                pdf_text(item.berita_acara_number),
            ])
    pdf.set_font("Helvetica", size=BODY_SIZE)
    pdf.ln(5)
    if pdf.get_y() + 12 + 52 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.set_x(pdf.l_margin + pdf.epw / 2)
    pdf.multi_cell(pdf.epw / 2, LINE,
                   pdf_text(f"Ditetapkan di {doc.place}\npada tanggal {long_date(doc.decided_on)}"),
                   align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.signatures((doc.signatory,))
    return bytes(pdf.output())
