"""Running the ``publisher`` command in-process against the test database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from publisher.cli import cli


class Cli:
    """Invokes ``publisher …`` with PUBLISHER_* pointing at one database and instance."""

    def __init__(self, database_url: str, instance: Path) -> None:
        self.env = {
            "PUBLISHER_DATABASE_URL": database_url,
            "PUBLISHER_INSTANCE_PATH": str(instance),
            "PUBLISHER_SECRET_KEY": "test-secret-key-not-for-production",
            "PUBLISHER_ADMIN_PASSWORD": None,
            "PUBLISHER_TIMEZONE": None,
        }

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, list(args), input=input, env={**self.env, **env},
                             catch_exceptions=False)


@pytest.fixture()
def publisher(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "instance")
