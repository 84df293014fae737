"""Benchmark: "Re-encrypt all data now" on N encrypted values (default 1,000,000), key 1 → 2.

    .venv/bin/python bench/reencrypt.py [--rows N] [--batch-size B]

Runs on a temporary SQLite file, and also on a temporary PostgreSQL database when
DATABASE_URL is set (created on that server and dropped afterwards). Each database runs in
its own child process (Django is configured once per process), which:

1. migrates, creates an org with an encrypted Contact field (key 1) and N contacts with one
   value each, written with raw SQL under key 1; then archives key 1 and makes key 2 active;
2. times the job: keys.services.reencryption.run_reencryption (the code the django-q2 task and
   `manage.py reencrypt` run), moving every value from key 1 to key 2;
3. times the floor, in the same process: the same N rows read and written back with raw SQL
   (SELECT by id range, executemany UPDATE ... WHERE id = ?) in batches of the same size,
   with AES-GCM decrypt + encrypt in the same loop (key 2 → key 1, same token format), and
   nothing else (no token checks, no lease, no compare-and-swap);
4. reports both times, their ratio (job / floor) and the process's peak RSS.

Both timed phases start from the same state (WAL checkpointed or table vacuumed, rows read
once into the page cache).

The last line is `RESULT reencrypt_<n>_<db>=<job s> floor=<floor s> ratio=<job/floor>`
(SQLite's when both databases run).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_BATCH = 10_000


def _label(rows: int) -> str:
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return str(rows)


def child(rows: int, batch_size: int) -> dict[str, float]:
    """Seed, run the job and the floor in this process; return the figures."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from keys import crypto, keyring
    from keys.columns import values_per_key
    from keys.models import ContactFieldValue
    from keys.services.contacts import create_contact_field
    from keys.services.master_keys import rotate_master_key
    from keys.services.reencryption import run_reencryption, start_reencryption
    from orgs.services.organizations import create_organization

    call_command("migrate", verbosity=0, interactive=False)
    org = create_organization(name="Bench", acting_user=None)
    field = create_contact_field(
        org=org, label="SSN", api_name="SSN", mask_type="ssn", mask_char="X", acting_user=None
    )
    value_field = ContactFieldValue._meta.get_field("value")
    aad = value_field.aad(org.pk)  # type: ignore[union-attr]
    ring = keyring.Keyring.load(org.pk)
    key1 = ring.material(1)

    # 1. Seed: contacts and their values, in batches, raw SQL (the benchmark is not about this).
    def new_uuid() -> str:  # how Django stores a UUIDField: hex on SQLite, uuid on PostgreSQL
        value = uuid.uuid4()
        return value.hex if connection.vendor == "sqlite" else str(value)

    started = time.perf_counter()
    now = timezone.now()
    next_id = 1
    with connection.cursor() as cursor:
        for start in range(0, rows, SEED_BATCH):
            count = min(SEED_BATCH, rows - start)
            with transaction.atomic():
                cursor.executemany(
                    "INSERT INTO keys_contact (id, uuid, organization_id, first_name, last_name,"
                    " email, created_at, created_by, updated_at, updated_by)"
                    " VALUES (%s, %s, %s, '', %s, '', %s, 'bench', %s, 'bench')",
                    [
                        (next_id + i, new_uuid(), org.pk, f"c{start + i}", now, now)
                        for i in range(count)
                    ],
                )
                cursor.executemany(
                    "INSERT INTO keys_contactfieldvalue (id, contact_id, field_id,"
                    " organization_id, value_token) VALUES (%s, %s, %s, %s, %s)",
                    [
                        (
                            next_id + i,
                            next_id + i,
                            field.pk,
                            org.pk,
                            crypto.encrypt_value(
                                key1, 1, f"{start + i:03d}-45-6789".encode(), aad=aad
                            ).decode(),
                        )
                        for i in range(count)
                    ],
                )
            next_id += count
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in ("keys_contact", "keys_contactfieldvalue"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [next_id]
                )
            cursor.execute("ANALYZE")
    seed_s = time.perf_counter() - started
    rotate_master_key(org=org, acting_user=None)

    def settle() -> None:
        """Start each timed phase from the same state: WAL checkpointed / table vacuumed,
        rows in the page cache."""
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                cursor.execute("VACUUM ANALYZE keys_contactfieldvalue")
            cursor.execute("SELECT SUM(LENGTH(value_token)) FROM keys_contactfieldvalue")
            cursor.fetchall()

    assert values_per_key(org) == {1: rows}

    # 2. The job, as the django-q2 task and `manage.py reencrypt` run it.
    job = start_reencryption(org=org, acting_user=None, enqueue=False)
    settle()
    started = time.perf_counter()
    job = run_reencryption(job_id=job.pk, batch_size=batch_size)
    job_s = time.perf_counter() - started
    assert job.moved == rows, job.message
    assert values_per_key(org) == {2: rows}

    # 3. The floor: the same rows, read and written with raw SQL, AES-GCM in the loop.
    ring = keyring.Keyring.load(org.pk)
    old, new = AESGCM(ring.material(2)), AESGCM(ring.material(1))
    old_aad, new_prefix = b"v2:" + aad, b"v1:"
    new_aad = new_prefix + aad
    settle()
    started = time.perf_counter()
    last_id = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT id, value_token FROM keys_contactfieldvalue WHERE id > %s"
                " ORDER BY id LIMIT %s",
                [last_id, batch_size],
            )
            batch = cursor.fetchall()
            if not batch:
                break
            last_id = batch[-1][0]
            updates = []
            for pk, token in batch:
                payload = token[3:].encode()
                blob = base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4))
                plain = old.decrypt(blob[:12], blob[12:], old_aad)
                nonce = os.urandom(12)
                sealed = base64.urlsafe_b64encode(nonce + new.encrypt(nonce, plain, new_aad))
                updates.append(((new_prefix + sealed.rstrip(b"=")).decode(), pk))
            with transaction.atomic():
                cursor.executemany(
                    "UPDATE keys_contactfieldvalue SET value_token = %s WHERE id = %s", updates
                )
    floor_s = time.perf_counter() - started
    assert values_per_key(org) == {1: rows}  # the floor wrote valid tokens
    sample = ContactFieldValue.objects.select_related("field").order_by("?")[:5]
    assert all(v.value.reveal(keyring.Keyring.load(org.pk)).endswith("-45-6789") for v in sample)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seed_s": seed_s, "job_s": job_s, "floor_s": floor_s, "peak_mb": peak_mb}


def run_child(db: str, rows: int, batch_size: int, tmp: Path) -> dict[str, float]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "certadmin.settings_test",
        "CERTADMIN_VAR_DIR": str(tmp),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("REDIS_URL", None)  # the job runs in this process; no broker needed
    pg_name = server = None
    if db == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    else:
        import psycopg

        server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        pg_name = f"certadmin_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        env["DATABASE_URL"] = f"{server}/{pg_name}"
    try:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                "--rows",
                str(rows),
                "--batch-size",
                str(batch_size),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(exc.stdout + exc.stderr)
        raise
    finally:
        if pg_name:
            import psycopg

            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.rows, args.batch_size)))
        return

    databases = ["sqlite"]
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        databases.insert(0, "postgresql")
    print(f"re-encrypt {args.rows:,} values, key 1 -> key 2, batches of {args.batch_size}")
    results = []
    with tempfile.TemporaryDirectory(prefix="certadmin-bench-") as tmp:
        for db in databases:
            r = run_child(db, args.rows, args.batch_size, Path(tmp))
            ratio = r["job_s"] / r["floor_s"]
            print(
                f"{db:<10} seed {r['seed_s']:6.1f} s | job {r['job_s']:6.2f} s "
                f"({args.rows / r['job_s']:,.0f} values/s) | floor {r['floor_s']:6.2f} s "
                f"({args.rows / r['floor_s']:,.0f} values/s) | ratio {ratio:.2f} | "
                f"peak RSS {r['peak_mb']:.0f} MB"
            )
            results.append(
                f"RESULT reencrypt_{_label(args.rows)}_{db}={r['job_s']:.2f} "
                f"floor={r['floor_s']:.2f} ratio={ratio:.2f}"
            )
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
