"""Publication errors in plain Bahasa Indonesia, with what the operator should do."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

#: error_kind → (what happened, what to do)
EXPLANATIONS: dict[str, tuple[Any, Any]] = {
    "transient": (
        _l("Saluran tujuan sedang tidak dapat dihubungi atau menjawab dengan galat sementara."),
        _l("Sistem akan mencoba lagi otomatis. Bila tetap gagal, periksa apakah situs atau "
           "layanan tujuan sedang aktif, lalu tekan Kirim ulang."),
    ),
    "rate_limited": (
        _l("Platform membatasi jumlah kiriman (terlalu sering)."),
        _l("Tunggu; sistem mencoba lagi setelah jeda yang diminta platform."),
    ),
    "auth": (
        _l("Izin akses ke saluran ditolak atau kedaluwarsa."),
        _l("Buka Saluran, pilih saluran ini, lalu Sambungkan ulang dengan kredensial baru. "
           "Publikasi ditahan dan dikirim setelah tersambung."),
    ),
    "permanent": (
        _l("Platform menolak kiriman ini; mengirim ulang tanpa perubahan tidak akan berhasil."),
        _l("Baca pesan dari platform di bawah, perbaiki isi atau pengaturan saluran, lalu "
           "tekan Kirim ulang."),
    ),
    "render": (
        _l("Templat posting saluran ini tidak dapat dibuat untuk informasi ini."),
        _l("Periksa templat posting OPD untuk jenis saluran ini, lalu Kirim ulang."),
    ),
    "blocked": (
        _l("Informasi dikecualikan: pengiriman diblokir."),
        _l("Tidak ada tindakan: informasi dikecualikan tidak boleh dipublikasikan."),
    ),
    "held": (
        _l("Saluran sedang dijeda atau perlu disambungkan ulang; publikasi ditahan."),
        _l("Lanjutkan atau sambungkan ulang saluran; publikasi yang ditahan lalu dikirim."),
    ),
    "reapproval": (
        _l("Isi informasi diubah setelah disetujui; publikasi ini ditarik sampai disetujui ulang."),
        _l("Minta penyetuju lain (bukan yang mengubah) menyetujui ulang informasi ini; publikasi "
           "lalu dijadwalkan kembali."),
    ),
    "lease": (
        _l("Pengiriman sebelumnya terhenti (proses pekerja berhenti) sebelum hasilnya tercatat."),
        _l("Sistem memeriksa dulu apakah posting sudah ada sebelum mengirim ulang. Tidak perlu "
           "tindakan."),
    ),
}
_UNKNOWN = (
    _l("Pengiriman gagal."),
    _l("Baca pesan di bawah; bila masalah sudah diperbaiki, tekan Kirim ulang."),
)


def explain(error_kind: str | None, status: str = "") -> tuple[str, str] | None:
    """(what happened, what to do) for a publication's error, or None when there is none."""
    if not error_kind and status not in ("failed", "held", "blocked", "retrying"):
        return None
    what, todo = EXPLANATIONS.get(error_kind or status, _UNKNOWN)
    return str(what), str(todo)
