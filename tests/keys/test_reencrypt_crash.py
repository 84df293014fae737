"""Real processes against a real database file: `manage.py reencrypt` killed with SIGKILL
mid-run and restarted, and what an attacker with a copy of the database would find.

The database is a copy of the migrated test database made for this module: a SQLite file
(VACUUM INTO), or a new PostgreSQL database made from it as a template when DATABASE_URL is
set. Subprocesses use the test settings (so the same fixed KEK as this process).
"""

import base64
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from keys import crypto, envelope

ROOT = Path(__file__).resolve().parents[2]
VALUES = 3000
# django_db: pytest-django creates the test database only for sessions with a test that asks
# for it, and the scratch copy is made from it.
pytestmark = [pytest.mark.xdist_group("keys-subprocess"), pytest.mark.django_db]

SEED = f"""
import django
django.setup()

from keys.models import Contact, ContactFieldValue
from keys.services.contacts import create_contact_field
from keys.services.master_keys import rotate_master_key
from orgs.services.organizations import create_organization

org = create_organization(name="Crash Test", acting_user=None)
field = create_contact_field(
    org=org, label="SSN", api_name="SSN", mask_type="ssn", mask_char="X", acting_user=None
)
contacts = Contact.objects.bulk_create(
    [Contact(organization=org, last_name=f"c{{i}}", created_by="seed", updated_by="seed")
     for i in range({VALUES})]
)
ContactFieldValue.objects.bulk_create(
    [ContactFieldValue(contact=c, field=field, organization=org, value=f"secret-{{i:06d}}")
     for i, c in enumerate(contacts)],
    batch_size=500,
)
rotate_master_key(org=org, acting_user=None)
print(org.public_id)
"""


@dataclass
class ScratchDb:
    env: dict[str, str]
    org: str
    sqlite_path: Path | None
    pg_name: str | None

    def manage(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows read straight from the scratch database, not through Django."""
        if self.sqlite_path is not None:
            with sqlite3.connect(self.sqlite_path) as conn:
                return list(conn.execute(sql))
        with psycopg.connect(self.env["DATABASE_URL"]) as conn:
            return list(conn.execute(sql))

    def master_keys(self) -> dict[int, bytes]:
        rows = self.query("SELECT version, material FROM keys_masterkey WHERE material IS NOT NULL")
        purpose = "keys.MasterKey.material"
        return {
            version: envelope.open_sealed(bytes(blob), purpose=purpose) for version, blob in rows
        }

    def check(self) -> dict[str, object]:
        """Values per key, values that do not decrypt to what was seeded, and the job."""
        keys = self.master_keys()
        rows = self.query(
            "SELECT v.value_token, v.key_version, v.organization_id, c.last_name"
            " FROM keys_contactfieldvalue v JOIN keys_contact c ON c.id = v.contact_id"
        )
        per_key: dict[int, int] = {}
        wrong = 0
        for token, version, org_id, last_name in rows:
            per_key[version] = per_key.get(version, 0) + 1
            aad = f"keys.ContactFieldValue.value|org={org_id}".encode()
            plain = crypto.decrypt_value(keys[version], token.encode(), aad=aad)
            wrong += plain != f"secret-{int(last_name[1:]):06d}".encode()
        (job,) = self.query("SELECT state, attempts, moved FROM keys_reencryptionjob")
        return {"per_key": per_key, "wrong": wrong, "job": job}


@pytest.fixture(scope="module")
def scratch(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup: None, django_db_blocker: Any
) -> Iterator[ScratchDb]:
    """A copy of the (migrated) test database that other processes can open."""
    tmp = tmp_path_factory.mktemp("crash")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "certadmin.settings_test",
        "CERTADMIN_VAR_DIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
    }
    sqlite_path = pg_name = server = None
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            sqlite_path = tmp / "crash.sqlite3"
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM INTO '{sqlite_path}'")
            env["DATABASE_URL"] = f"sqlite:///{sqlite_path}"
        else:
            server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            template = connection.settings_dict["NAME"]
            pg_name = f"certadmin_crash_{uuid.uuid4().hex[:10]}"
            connection.close()  # a template database must have no other session
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{pg_name}" TEMPLATE "{template}"')
            env["DATABASE_URL"] = f"{server}/{pg_name}"
    db = ScratchDb(env, "", sqlite_path, pg_name)
    try:
        seeded = subprocess.run(
            [sys.executable, "-c", SEED],
            check=False,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert seeded.returncode == 0, seeded.stderr
        db.org = seeded.stdout.strip().splitlines()[-1]
        yield db
    finally:
        if pg_name:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def test_reencrypt_killed_with_sigkill_resumes_and_loses_nothing(scratch: ScratchDb) -> None:
    command = ["reencrypt", scratch.org, "--batch-size", "100", "--pause", "0.05"]
    run = subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=scratch.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    progress = 0
    assert run.stdout is not None
    for line in run.stdout:
        progress += line.startswith("progress:")
        if progress == 3:
            break
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=10)

    after_kill = scratch.check()
    resumed = scratch.manage("reencrypt", scratch.org)
    after_restart = scratch.check()

    assert run.returncode == -signal.SIGKILL
    per_key = after_kill["per_key"]
    assert isinstance(per_key, dict)
    assert per_key[1] > 0
    assert per_key[2] >= 300  # the three batches it reported are committed
    assert sum(per_key.values()) == VALUES
    assert after_kill["wrong"] == 0
    assert after_kill["job"] == ("running", 1, per_key[2])
    assert "done:" in resumed.stdout
    assert after_restart["per_key"] == {2: VALUES}
    assert after_restart["wrong"] == 0
    assert after_restart["job"] == ("done", 2, VALUES)


def _database_bytes(scratch: ScratchDb) -> bytes:
    if scratch.sqlite_path is not None:
        files = [scratch.sqlite_path, Path(f"{scratch.sqlite_path}-wal")]
        return b"".join(path.read_bytes() for path in files if path.exists())
    dump = subprocess.run(
        ["pg_dump", "--no-owner", scratch.env["DATABASE_URL"]],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dump.stdout


def test_the_database_holds_no_plaintext_value_and_no_unwrapped_key(scratch: ScratchDb) -> None:
    raw = _database_bytes(scratch)
    keys = list(scratch.master_keys().values())

    assert b"keys_contactfieldvalue" in raw  # we are reading the right thing
    assert b"secret-000042" not in raw
    assert b"secret-" not in raw
    assert len(keys) == 2
    for key in keys:
        for form in (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key)):
            assert form not in raw
