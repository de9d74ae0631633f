"""The Daftar Informasi Publik of one semester as a landscape A4 PDF table (fpdf2).

Byte-stable like the DIK documents: core Helvetica (nothing embedded), a fixed creation
date (``as_of``), producer and creator, and a ``/ID`` derived from the rows, so the same
register gives the same bytes in every process.

Rows are laid out by hand rather than with ``FPDF.table``: text is wrapped with a cached
per-character width table and drawn line by line, which keeps a register of several
thousand rows to a few seconds. A very long value is cut at :data:`MAX_LINES` lines with an
ellipsis (the XLSX next to it has the full text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from fpdf import FPDF

from .dik_documents import PRODUCER, pdf_text
from .register import Register, RegisterRow, long_date

#: (header, width in mm); the widths fill A4 landscape less 10 mm margins (277 mm).
COLUMNS: tuple[tuple[str, float], ...] = (
    ("No", 9),
    ("Judul Informasi", 38),
    ("Ringkasan Isi Informasi", 44),
    ("Pejabat/Unit yang Menguasai Informasi", 26),
    ("Penanggung Jawab Pembuatan/ Penerbitan", 24),
    ("Waktu dan Tempat Pembuatan", 26),
    ("Bentuk Informasi", 16),
    ("Jangka Waktu Penyimpanan", 18),
    ("Kategori", 16),
    ("OPD", 20),
    ("Dipublikasikan (saluran, waktu, tautan)", 40),
)
MARGIN = 10.0
FONT_SIZE = 7.0
HEADER_SIZE = 7.0
LINE = 3.2  # mm per text line
PAD = 1.0  # mm inside each cell
MAX_LINES = 8
FOOTER_SPACE = 10.0


class _RegisterPdf(FPDF):
    def __init__(self, title: str, digest: str, created: datetime) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self._digest = digest
        self._title = pdf_text(title)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)  # rows are placed by hand
        self.set_creation_date(created)
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)
        self.set_title(self._title)
        self.set_lang("id")
        self._widths: dict[tuple[str, str], float] = {}

    def file_id(self) -> str:
        half = self._digest[:32].upper()
        return f"<{half}><{half}>"

    def footer(self) -> None:
        self.set_xy(self.l_margin, self.h - FOOTER_SPACE + 2)
        self.set_font("Helvetica", size=6.5)
        self.cell(self.epw / 2, 4, f"{self._title} \u00b7 sha256 {self._digest}", align="L")
        self.cell(self.epw / 2, 4, f"Halaman {self.page_no()} dari {{nb}}", align="R")

    # -- wrapping ------------------------------------------------------------------------

    def _char_width(self, char: str, style: str) -> float:
        key = (char, style)
        width = self._widths.get(key)
        if width is None:
            width = self._widths[key] = self.get_string_width(char)
        return width

    def wrap(self, text: str, width: float, style: str = "") -> list[str]:
        """``text`` greedily wrapped at ``width`` mm (words longer than a line are split)."""
        space = self._char_width(" ", style)
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current, current_w = "", 0.0
            for word in paragraph.split(" "):
                word_w = sum(self._char_width(c, style) for c in word)
                if current and current_w + space + word_w <= width:
                    current, current_w = f"{current} {word}", current_w + space + word_w
                    continue
                if current:
                    lines.append(current)
                current, current_w = "", 0.0
                while word_w > width:  # a URL or a long token: cut by characters
                    piece, piece_w = "", 0.0
                    for char in word:
                        char_w = self._char_width(char, style)
                        if piece and piece_w + char_w > width:
                            break
                        piece, piece_w = piece + char, piece_w + char_w
                    lines.append(piece)
                    word = word[len(piece):]
                    word_w -= piece_w
                current, current_w = word, word_w
            lines.append(current)
        return lines or [""]

    def row(self, values: Sequence[str], style: str = "", fill: bool = False) -> None:
        """One table row, starting a new page (with the header) when it does not fit."""
        cells = []
        for (_, width), value in zip(COLUMNS, values, strict=True):
            lines = self.wrap(pdf_text(value), width - 2 * PAD, style)
            if len(lines) > MAX_LINES:
                lines = [*lines[:MAX_LINES - 1], lines[MAX_LINES - 1] + " ..."]
            cells.append(lines)
        height = max(len(lines) for lines in cells) * LINE + 2 * PAD
        if self.get_y() + height > self.h - FOOTER_SPACE and not style:
            self.add_page()
            self.header_row()
        x, y = self.l_margin, self.get_y()
        for (_, width), lines in zip(COLUMNS, cells, strict=True):
            self.rect(x, y, width, height, style="DF" if fill else "D")
            for i, line in enumerate(lines):
                if line:
                    self.text(x + PAD, y + PAD + LINE * i + LINE * 0.75, line)
            x += width
        self.set_xy(self.l_margin, y + height)

    def header_row(self) -> None:
        self.set_font("Helvetica", "B", HEADER_SIZE)
        self.set_fill_color(230, 230, 230)
        self.row([name for name, _ in COLUMNS], style="B", fill=True)
        self.set_font("Helvetica", size=FONT_SIZE)


def _published_text(row: RegisterRow) -> str:
    lines = [f"{c.name} ({c.kind}) {c.local}" for c in row.channels]
    if row.url:
        lines.append(row.url)
    return "\n".join(lines)


def row_values(row: RegisterRow) -> list[str]:
    """The PDF cells of one register row, in COLUMNS order."""
    return [
        str(row.number), row.title, row.summary or row.title, row.official_unit,
        row.responsible, row.made, row.formats_text, row.retention, row.category_label,
        row.opd_name, _published_text(row),
    ]


def digest(register: Register) -> str:
    """sha256 over the register's title and printed cells (what the PDF shows)."""
    sha = hashlib.sha256(register.title.encode())
    for row in register.rows:
        sha.update(b"\x1e" + "\x1f".join(row_values(row)).encode())
    return sha.hexdigest()


def register_pdf(register: Register, as_of: datetime) -> bytes:
    """The register as PDF bytes; ``as_of`` (aware) is the document's creation date."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ValueError("as_of must be timezone-aware")
    title = (f"Daftar Informasi Publik {register.scope_name} Tahun {register.year} "
             f"Semester {register.semester}")
    pdf = _RegisterPdf(title, digest(register), as_of.astimezone(UTC))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, pdf_text(title.upper()), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=8)
    start = register.start.astimezone(UTC)
    pdf.multi_cell(
        0, 4, pdf_text(
            f"Informasi yang pertama kali dipublikasikan pada semester {register.semester} "
            f"tahun {register.year} (zona {register.timezone}); {len(register.rows)} informasi. "
            f"Keadaan per {long_date(as_of.date())}. Mulai periode {start:%Y-%m-%d %H:%M} UTC."),
        align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.header_row()
    if not register.rows:
        pdf.row(["", "Tidak ada informasi yang dipublikasikan pada semester ini.", "", "", "",
                 "", "", "", "", "", ""])
    for row in register.rows:
        pdf.row(row_values(row))
    return bytes(pdf.output())
