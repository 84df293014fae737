"""SPEC 8: production refuses to start without a configured key-encryption key; only
development mode or `manage.py generate_kek` makes one. Real processes with a production
environment (no CERTADMIN_INSECURE_DEV), as an operator would start them."""

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEK = base64.b64encode(b"K" * 32).decode()


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CERTADMIN_", "DJANGO_", "DEBUG", "DATABASE_URL", "REDIS_URL"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="certadmin.settings",
        SECRET_KEY="a-production-secret-key-of-some-length-0123456789",
        CERTADMIN_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_fails_naming_the_settings_and_generates_nothing(tmp_path: Path) -> None:
    env = production_env(tmp_path)

    result = manage(env, "check")

    assert result.returncode != 0
    assert "keys.E001" in result.stderr
    assert "CERTADMIN_KEKS" in result.stderr
    assert "CERTADMIN_KEK_FILE" in result.stderr
    assert not (tmp_path / "var" / "kek.key").exists()


def test_the_wsgi_application_refuses_to_load_without_a_kek(tmp_path: Path) -> None:
    """gunicorn runs no system checks; the WSGI module itself refuses."""
    result = subprocess.run(
        [sys.executable, "-c", "import certadmin.wsgi"],
        env=production_env(tmp_path),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "CERTADMIN_KEKS" in result.stderr
    assert not (tmp_path / "var" / "kek.key").exists()


def test_a_kek_in_the_environment_passes_the_check(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path, CERTADMIN_KEKS=KEK), "check")

    assert result.returncode == 0, result.stderr


def test_a_malformed_kek_fails_the_check_with_its_reason(tmp_path: Path) -> None:
    result = manage(production_env(tmp_path, CERTADMIN_KEKS="c2hvcnQ="), "check")

    assert result.returncode != 0
    assert "must be 32 bytes" in result.stderr


def test_generate_kek_writes_a_0600_file_that_the_check_then_accepts(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "kek.key"
    env = production_env(tmp_path, CERTADMIN_KEK_FILE=str(path))

    made = manage(env, "generate_kek")
    checked = manage(env, "check")

    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(base64.b64decode(path.read_text().strip())) == 32
    assert path.read_text().strip() not in made.stdout  # the key is not echoed
    assert checked.returncode == 0, checked.stderr


def test_generate_kek_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    path.write_text(KEK + "\n")

    result = manage(production_env(tmp_path, CERTADMIN_KEK_FILE=str(path)), "generate_kek")

    assert result.returncode != 0
    assert "already exists" in result.stderr
    assert path.read_text() == KEK + "\n"


def test_generate_kek_rotate_puts_a_new_key_first_and_keeps_the_old(tmp_path: Path) -> None:
    path = tmp_path / "kek.key"
    path.write_text(KEK + "\n")

    result = manage(
        production_env(tmp_path, CERTADMIN_KEK_FILE=str(path)), "generate_kek", "--rotate"
    )

    keys = path.read_text().split()
    assert result.returncode == 0, result.stderr
    assert len(keys) == 2
    assert keys[1] == KEK
    assert keys[0] != KEK
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_generate_kek_print_is_usable_as_certadmin_keks(tmp_path: Path) -> None:
    printed = manage(production_env(tmp_path), "generate_kek", "--print")

    key = printed.stdout.strip()
    checked = manage(production_env(tmp_path, CERTADMIN_KEKS=key), "check")
    assert len(base64.b64decode(key)) == 32
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("dev_flag", [{"CERTADMIN_INSECURE_DEV": "True"}, {"DEBUG": "True"}])
def test_development_mode_generates_the_kek_on_first_use(
    tmp_path: Path, dev_flag: dict[str, str]
) -> None:
    env = production_env(tmp_path, **dev_flag)
    code = (
        "import django; django.setup();"
        "from keys import envelope; print(len(envelope.configured_keks()))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.strip() == "1", result.stderr
    assert stat.S_IMODE((tmp_path / "var" / "kek.key").stat().st_mode) == 0o600
