"""Start Django for a benchmark: the test settings on a fresh temporary SQLite file, or on
DATABASE_URL when it is set (a throwaway database `certadmin_bench` is created there)."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup(name: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "certadmin.settings_test")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    os.environ.setdefault("CERTADMIN_VAR_DIR", tempfile.mkdtemp(prefix=f"bench-{name}-"))
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _, _ = url.rpartition("/")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS certadmin_bench")
            conn.execute("CREATE DATABASE certadmin_bench")
        os.environ["DATABASE_URL"] = f"{base}/certadmin_bench"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def backend() -> str:
    from django.db import connection

    return connection.vendor
