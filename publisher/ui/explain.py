"""Publication errors in plain Bahasa Indonesia, with what the operator should do."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import Publication
from ..timeutil import format_local

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
    "unconfirmed": (
        _l("Perlu dicek: pengiriman sebelumnya mungkin sudah sampai ke platform, tetapi belum "
           "dapat dipastikan (platform tidak menjawab pemeriksaan)."),
        _l("Sistem tidak akan mengirimnya lagi tanpa memeriksa dulu, dan memeriksa otomatis "
           "secara berkala. Lihat sendiri di tempat di bawah. Tekan Periksa & kirim ulang: "
           "sistem memeriksa dulu dan hanya mengirim bila kiriman itu memang belum ada."),
    ),
    "not_ready": (
        _l("Platform masih memproses kiriman ini."),
        _l("Tidak perlu tindakan: sistem memeriksanya lagi otomatis."),
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
    if not error_kind and status not in ("failed", "held", "blocked", "retrying", "unconfirmed"):
        return None
    key = "unconfirmed" if status == "unconfirmed" else (error_kind or status)
    what, todo = EXPLANATIONS.get(key, _UNKNOWN)
    return str(what), str(todo)


def where_to_check(pub: Publication) -> str:
    """Where a person can see whether an unconfirmed publication reached its platform."""
    channel, tz = pub.channel, pub.item.opd.timezone
    config = channel.config or {}
    context = {"title": pub.item.title, "channel": channel.name,
               "time": format_local(pub.started_at or pub.due_at, tz)}
    if channel.kind == "facebook":
        return str(_l("Buka Halaman Facebook “%(channel)s” (https://www.facebook.com/%(page)s) "
                      "dan cari kiriman “%(title)s” sejak %(time)s.",
                      page=config.get("page_id", ""), **context))
    if channel.kind == "instagram":
        return str(_l("Buka akun Instagram “%(channel)s” dan cari kiriman “%(title)s” sejak "
                      "%(time)s.", **context))
    if channel.kind == "wordpress":
        return str(_l("Buka %(url)s/wp-admin/edit.php (semua status) dan cari tulisan "
                      "“%(title)s” sejak %(time)s.", url=config.get("url", ""), **context))
    if channel.kind == "webhook":
        return str(_l("Tanyakan pengelola sistem penerima (%(url)s) apakah informasi “%(title)s” "
                      "sudah diterima sejak %(time)s.", url=config.get("url", ""), **context))
    return str(_l("Periksa saluran “%(channel)s”: apakah “%(title)s” sudah tampil sejak "
                  "%(time)s?", **context))
