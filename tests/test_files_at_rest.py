"""The embedded default's files are its owner's only: the SQLite database (and its WAL files)
and the generated KEK, as `make run` leaves them."""

import stat
import subprocess
import sys
from pathlib import Path

from tests.keys.test_kek_configuration import ROOT, production_env


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_make_runs_database_and_kek_files_are_0600(tmp_path: Path) -> None:
    env = production_env(tmp_path, CERTADMIN_INSECURE_DEV="True")
    env.pop("DATABASE_URL")  # the default: var/db.sqlite3
    code = (
        "import django; django.setup();"
        "from django.core.management import call_command;"
        "call_command('migrate', verbosity=0);"
        "from django.db import connection;"
        "cursor = connection.cursor(); cursor.execute('CREATE TABLE probe (x)');"
        "cursor.execute('INSERT INTO probe VALUES (1)');"
        "import os, stat;"
        "wal = os.path.join(os.environ['CERTADMIN_VAR_DIR'], 'db.sqlite3-wal');"
        "print(oct(stat.S_IMODE(os.stat(wal).st_mode)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    var = tmp_path / "var"
    assert result.returncode == 0, result.stderr
    assert mode(var / "db.sqlite3") == 0o600
    assert result.stdout.strip() == "0o600"  # the WAL file, while the connection is open
    assert mode(var / "kek.key") == 0o600


def test_an_existing_world_readable_database_is_made_0600(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "db.sqlite3").touch(mode=0o644)
    (var / "db.sqlite3").chmod(0o644)
    env = production_env(tmp_path, CERTADMIN_INSECURE_DEV="True")
    env.pop("DATABASE_URL")

    subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=60,
    )

    assert mode(var / "db.sqlite3") == 0o600
