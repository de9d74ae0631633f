"""PDF berita acara uji konsekuensi and penetapan DIK (publisher.dik_documents)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from publisher.dik_documents import (
    BeritaAcara,
    Penetapan,
    PenetapanRow,
    Signatory,
    berita_acara_pdf,
    data_hash,
    pdf_text,
    penetapan_pdf,
)

ROOT = Path(__file__).resolve().parent.parent
VERIFY_URL = "https://ppid.serdangbedagaikab.go.id/dik/v/3f9a2c"

PPID = Signatory(
    role_label="PPID Pelaksana",
    name="dr. Rina Marlina Siregar",
    nip="198001012010012001",
    jabatan="Sekretaris Dinas Kesehatan",
    signed_at="2 Desember 2026 10.15 WIB",
)
ATASAN = Signatory(
    role_label="Atasan PPID (Kepala Dinas Kesehatan)",
    name="dr. Ahmad Syahputra Nasution, M.Kes.",
    nip="197505152000031002",
    jabatan="Kepala Dinas Kesehatan",
    signed_at="2 Desember 2026 14.40 WIB",
)


def berita_acara(**changes: object) -> BeritaAcara:
    doc = BeritaAcara(
        number="BA-UK/003/DINKES/2026",
        pemda_name="Pemerintah Kabupaten Serdang Bedagai",
        opd_name="Dinas Kesehatan Kabupaten Serdang Bedagai",
        opd_address="Jl. Negara No. 300, Sei Rampah, Kabupaten Serdang Bedagai 20695",
        title="Data rekam medis pasien puskesmas dan rumah sakit umum daerah",
        description=(
            "Catatan identitas pasien, hasil pemeriksaan, diagnosis, pengobatan, tindakan "
            "dan pelayanan lain yang telah diberikan kepada pasien."
        ),
        documents="Rekam medis elektronik, resume medis, hasil laboratorium dan radiologi",
        article_letter="h",
        legal_basis=(
            "Pasal 296 dan Pasal 297 Undang-Undang Nomor 17 Tahun 2023 tentang Kesehatan"
        ),
        holder_unit="Bidang Pelayanan Kesehatan",
        harm=(
            "Membuka rekam medis mengungkap riwayat, kondisi dan perawatan kesehatan fisik "
            "dan psikis seseorang, yang merupakan rahasia pribadi."
        ),
        public_interest=(
            "Statistik agregat penyakit tetap diumumkan tanpa identitas pasien."
        ),
        weighing=(
            "Kerugian bagi pasien jauh lebih besar daripada manfaat membuka data per orang."
        ),
        conclusion="ditutup",
        period="sampai dengan 31 Desember 2030",
        review_date=date(2027, 12, 1),
        members=(
            "dr. Rina Marlina Siregar (Sekretaris Dinas Kesehatan)",
            "Budi Santoso, S.H. (Kepala Subbagian Umum dan Kepegawaian)",
            "Ns. Dewi Lestari, S.Kep. (Kepala Seksi Pelayanan Kesehatan Rujukan)",
        ),
        place="Ruang Rapat Dinas Kesehatan, Sei Rampah",
        test_date=date(2026, 12, 2),
        version=1,
        signatories=(PPID, ATASAN),
        verify_url=VERIFY_URL,
        approved_at=datetime(2026, 12, 2, 7, 40, tzinfo=UTC),
    )
    return dataclasses.replace(doc, **changes)  # type: ignore[arg-type]


def text_of(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


def squash(value: str) -> str:
    return " ".join(value.split())


def test_berita_acara_content() -> None:
    data = berita_acara_pdf(berita_acara())
    assert data.startswith(b"%PDF-")
    text, pages = text_of(data)
    for expected in (
        "BERITA ACARA UJI KONSEKUENSI",
        "INFORMASI YANG DIKECUALIKAN",
        "Nomor: BA-UK/003/DINKES/2026",
        "Pada hari ini, Rabu tanggal 2 Desember 2026",
        "Pasal 17 huruf h",
        "Undang-Undang Nomor 17 Tahun 2023 tentang Kesehatan",
        "Data rekam medis pasien",
        "Bidang Pelayanan Kesehatan",
        "Ditutup (dikecualikan)",
        "sampai dengan 31 Desember 2030",
        "1 Desember 2027",
        "Budi Santoso, S.H.",
        "Ns. Dewi Lestari, S.Kep.",
        "dr. Rina Marlina Siregar",
        "dr. Ahmad Syahputra Nasution, M.Kes.",
        "NIP. 198001012010012001",
        "NIP. 197505152000031002",
        "Atasan PPID (Kepala Dinas Kesehatan)",
        "2 Desember 2026 14.40 WIB",
        "Versi 1",
        f"sha256 {data_hash(berita_acara())}",
        VERIFY_URL,
    ):
        assert expected in text, expected
    assert pages == 1 or "Halaman 1 dari" in text


@pytest.mark.parametrize(
    ("conclusion", "label"),
    [("dibuka", "Dibuka"), ("dibuka_sebagian", "Dibuka sebagian, dengan penghitaman")],
)
def test_conclusion_labels(conclusion: str, label: str) -> None:
    text, _ = text_of(berita_acara_pdf(berita_acara(conclusion=conclusion)))
    assert f"Kesimpulan {label}" in text


def test_unknown_conclusion_and_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError, match="conclusion"):
        berita_acara_pdf(berita_acara(conclusion="rahasia"))
    with pytest.raises(ValueError, match="approved_at"):
        berita_acara_pdf(berita_acara(approved_at=datetime(2026, 12, 2, 7, 40)))


def test_qr_image_and_metadata() -> None:
    data = berita_acara_pdf(berita_acara())
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        xobjects = page["/Resources"]["/XObject"]
        subtypes = {xobjects[name].get_object()["/Subtype"] for name in xobjects}
        assert "/Image" in subtypes
    assert reader.metadata is not None
    assert reader.metadata.producer == "opd-publisher (fpdf2)"
    assert reader.metadata.creation_date == datetime(2026, 12, 2, 7, 40, tzinfo=UTC)
    digest = data_hash(berita_acara())
    assert f"/ID [<{digest[:32].upper()}><{digest[:32].upper()}>]".encode() in data


def test_byte_identical_across_calls_and_processes() -> None:
    first = berita_acara_pdf(berita_acara())
    assert berita_acara_pdf(berita_acara()) == first
    script = (
        "import hashlib, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from test_dik_documents import berita_acara, penetapan\n"
        "from publisher.dik_documents import berita_acara_pdf, penetapan_pdf\n"
        "print(hashlib.sha256(berita_acara_pdf(berita_acara())).hexdigest())\n"
        "print(hashlib.sha256(penetapan_pdf(penetapan(40))).hexdigest())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    ba_hash, pen_hash = result.stdout.split()
    assert ba_hash == hashlib.sha256(first).hexdigest()
    assert pen_hash == hashlib.sha256(penetapan_pdf(penetapan(40))).hexdigest()


def test_different_data_different_bytes_and_hash() -> None:
    base = berita_acara()
    v2 = berita_acara(version=2)
    assert data_hash(base) != data_hash(v2)
    data = berita_acara_pdf(v2)
    assert data != berita_acara_pdf(base)
    text, _ = text_of(data)
    assert "Versi 2" in text and f"sha256 {data_hash(v2)}" in text


def test_data_hash_is_canonical() -> None:
    assert data_hash(berita_acara()) == data_hash(berita_acara())
    assert len(data_hash(berita_acara())) == 64
    assert data_hash(berita_acara(review_date=None)) != data_hash(berita_acara())


def test_long_text_spans_pages_and_is_complete() -> None:
    sentence = (
        "Pembukaan rekam medis pasien dapat mengungkap riwayat penyakit, kondisi kejiwaan "
        "dan hasil pemeriksaan laboratorium yang bersifat sangat pribadi. "
    )
    harm = (sentence * 12)[:1500].rstrip()
    long_weighing = " ".join(f"Pertimbangan nomor {i} telah dibahas oleh tim." for i in range(90))
    doc = berita_acara(harm=harm, weighing=long_weighing, public_interest=sentence * 6)
    data = berita_acara_pdf(doc)
    text, pages = text_of(data)
    assert pages >= 2
    assert squash(harm) in text
    assert "Pertimbangan nomor 89 telah dibahas oleh tim." in text
    assert "Halaman 2 dari" in text
    assert "NIP. 197505152000031002" in text  # the signatures come after all of it


def test_very_long_value_is_split_into_rows() -> None:
    huge = " ".join(f"Kalimat ke-{i} tentang bahaya pembukaan data." for i in range(400))
    text, pages = text_of(berita_acara_pdf(berita_acara(harm=huge)))
    assert pages >= 3
    assert "Konsekuensi bila dibuka (lanjutan)" in text
    # Every sentence is there, in order (continuation rows and footers sit between pieces).
    positions = [text.index(f"Kalimat ke-{i} tentang") for i in range(400)]
    assert positions == sorted(positions)


def test_non_latin1_text_does_not_crash() -> None:
    doc = berita_acara(
        title="“Rekam” medis — pasien… ’x’ 中文 ✓ café\u00a0umum e\u0301",
        harm="Bahaya – sangat besar\u2026 😀",
    )
    text, _ = text_of(berita_acara_pdf(doc))
    assert '"Rekam" medis - pasien... \'x\' ?? ? café umum é' in text
    assert "Bahaya - sangat besar... ?" in text


def test_pdf_text_helper() -> None:
    raw = "a\u2013b\u2014c\u2026 \u201cq\u201d \u2018s\u2019\u00a0z"
    assert pdf_text(raw) == 'a-b-c... "q" \'s\' z'
    assert pdf_text("Ωmega") == "?mega"
    assert pdf_text("Jl. Sudirman No. 5\r\nMedan") == "Jl. Sudirman No. 5\nMedan"


def penetapan(count: int) -> Penetapan:
    rows = tuple(
        PenetapanRow(
            number=i,
            title=f"Informasi dikecualikan nomor {i:02d} tentang data pribadi pegawai dan pasien",
            article_letter="h" if i % 2 else "j",
            legal_basis="Pasal 17 huruf h UU 14/2008; UU Nomor 27 Tahun 2022 tentang "
                        "Pelindungan Data Pribadi",
            holder_unit="Subbagian Umum dan Kepegawaian",
            period="sampai dengan 31 Desember 2030",
            berita_acara_number=f"BA-UK/{i:03d}/DINKES/2026",
        )
        for i in range(1, count + 1)
    )
    return Penetapan(
        number="PEN-DIK/001/DINKES/2026",
        pemda_name="Pemerintah Kabupaten Serdang Bedagai",
        opd_name="Dinas Kesehatan Kabupaten Serdang Bedagai",
        opd_address="Jl. Negara No. 300, Sei Rampah",
        place="Sei Rampah",
        decided_on=date(2026, 12, 2),
        rows=rows,
        signatory=ATASAN,
        verify_url="https://ppid.serdangbedagaikab.go.id/dik/p/dinkes",
        as_of=datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
    )


def test_penetapan_spans_pages_and_lists_all() -> None:
    doc = penetapan(40)
    data = penetapan_pdf(doc)
    assert penetapan_pdf(doc) == data
    reader = PdfReader(io.BytesIO(data))
    assert reader.pages[0].mediabox.width > reader.pages[0].mediabox.height  # landscape
    text, pages = text_of(data)
    assert pages >= 2
    for row in doc.rows:
        assert row.title in text, row.title
        assert row.berita_acara_number in text
    for expected in (
        "PENETAPAN", "DAFTAR INFORMASI YANG DIKECUALIKAN", "Nomor: PEN-DIK/001/DINKES/2026",
        "Ditetapkan di Sei Rampah", "pada tanggal 2 Desember 2026",
        "dr. Ahmad Syahputra Nasution, M.Kes.", "NIP. 197505152000031002",
        "Keadaan per 2 Desember 2026 08.00 UTC", f"sha256 {data_hash(doc)}",
        "https://ppid.serdangbedagaikab.go.id/dik/p/dinkes",
    ):
        assert expected in text, expected
    # the headings repeat on every page that carries rows of the table
    table_pages = [p.extract_text() for p in reader.pages if "BA-UK/" in p.extract_text()]
    assert len(table_pages) >= 2
    assert all("Informasi yang dikecualikan" in page for page in table_pages)


def test_penetapan_empty() -> None:
    text, pages = text_of(penetapan_pdf(penetapan(0)))
    assert pages == 1
    assert "Tidak ada informasi yang dikecualikan." in text
