"""``publisher monev``: the yearly Monev evidence bundle (ZIP) of an OPD or the whole Pemda."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli import UserError, _opened, cli


@cli.command("monev")
@click.option("--year", type=int, help="Tahun (default: tahun berjalan).")
@click.option("--opd", "opd_slug", metavar="SLUG",
              help="Slug OPD (default: seluruh Pemda).")
@click.option("--descendants", is_flag=True,
              help="Sertakan OPD di bawahnya (kecamatan, desa).")
@click.option("--output", "-o", type=click.Path(dir_okay=False),
              help="Berkas ZIP tujuan (default: monev-<opd|pemda>-<tahun>.zip).")
def monev_command(year: int | None, opd_slug: str | None, descendants: bool,
                  output: str | None) -> None:
    """Bundel bukti Monev keterbukaan informasi publik satu tahun (ZIP): DIP per semester,
    penetapan DIK, berita acara uji konsekuensi, log publikasi, kadensi, serta merta."""
    from . import monev  # the document stack: imported by the command that uses it
    from .register import current_semester, get_opd_by_slug

    with _opened() as runtime, runtime.db.read() as session:
        if year is None:
            year = current_semester(runtime.settings.timezone)[0]
        monev.check_year(year)
        opd = get_opd_by_slug(session, opd_slug) if opd_slug else None
        scope = monev.scope_of(session, runtime.settings, year, opd, descendants=descendants)
        path = Path(output or monev.bundle_name(scope))
        if not path.parent.is_dir():
            raise UserError(f"--output: direktori {path.parent} tidak ada")
        total = monev.count_steps(session, runtime.settings, year, opd,
                                  descendants=descendants)
        with click.progressbar(length=total, label="Menyusun bundel Monev",
                               file=sys.stderr) as bar:
            data = monev.build_bundle(session, runtime.settings, year, opd, bar.update,
                                      descendants=descendants)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UserError(f"--output: tidak dapat menulis {path}: {exc.strerror or exc}") from None
    with runtime.db.write() as session:
        target = session.merge(opd) if opd is not None else None
        monev.record_generated(session, None, target, year, data)
    click.echo(f"Bundel Monev {scope.name} tahun {year}: {len(data):,} byte ditulis ke {path}")
