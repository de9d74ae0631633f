"""The instance folder is private, as the README promises: folders 0700, files 0600, also
for what an older release left readable by others; and no environment variable weakens the
password hash of a running service."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from publisher.checkpoints import checkpoint_path, write_checkpoint
from publisher.media_variants import write_atomic
from publisher.models import Media
from publisher.runtime import Runtime
from publisher.services.media import store_image

from .conftest import make_settings
from .factories import Factory
from .meta_fixtures import jpeg_bytes


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_uploads_variants_and_checkpoints_are_private(make: Factory, runtime: Runtime) -> None:
    from publisher.models import Item, Role

    opd = make.opd()
    editor = make.person(Role.EDITOR, opd)
    site = make.channel(opd, "site")
    item = make.item(editor, opd, [site.id])
    with runtime.db.write() as s:
        store_image(s, editor.principal, runtime.settings, s.get_one(Item, item.id),
                    jpeg_bytes(900, 600), alt_text="Foto kegiatan", filename="foto.jpg")
    with runtime.db.read() as s:
        write_checkpoint(runtime.settings, s)
        assert s.scalars(select(Media.id)).all()
    media = runtime.settings.instance_path / "media"
    assert mode(media) == 0o700
    for path in media.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(checkpoint_path(runtime.settings)) == 0o600
    write_atomic(media / "a" / "b" / "c.jpg", b"x")  # new nested folders too
    assert [mode(media / "a"), mode(media / "a" / "b"), mode(media / "a" / "b" / "c.jpg")] == [
        0o700, 0o700, 0o600]


def test_an_older_install_is_made_private_at_start(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    (instance / "media" / "ab").mkdir(parents=True)
    os.chmod(instance / "media", 0o755)
    (instance / "audit_checkpoints.jsonl").write_text("")
    os.chmod(instance / "audit_checkpoints.jsonl", 0o644)
    make_settings(tmp_path, f"sqlite:///{tmp_path / 'p.db'}")
    assert mode(instance / "media") == 0o700
    assert mode(instance / "audit_checkpoints.jsonl") == 0o600


def test_no_environment_variable_lowers_the_password_hash(tmp_path: Path) -> None:
    """The suite makes hashing cheap in its own process only: a service started with the old
    test switch in its environment still hashes at full cost."""
    code = ("from publisher.security import hash_password; "
            "print(hash_password('rahasia-sekali-123').split('$')[0])")
    env = {**os.environ, "PUBLISHER_TEST_FAST_PASSWORD_HASH": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.strip()
    assert out == "scrypt:32768:8:1"
