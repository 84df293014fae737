"""Start Django for a benchmark: the test settings on a fresh temporary SQLite file, or on
DATABASE_URL when it is set (a throwaway database `certadmin_bench` is created there, or the
one BENCH_DATABASE names, so that two people on one server do not drop each other's)."""

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

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
        db = os.environ.get("BENCH_DATABASE", "certadmin_bench")
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}"')
            conn.execute(f'CREATE DATABASE "{db}"')
        os.environ["DATABASE_URL"] = f"{base}/{db}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def backend() -> str:
    from django.db import connection

    return connection.vendor


def process_tree_cpu_seconds(roots: set[int]) -> float:
    """CPU time (user + system) used so far by the processes `roots` and their descendants
    (from /proc): less sensitive than wall time to the other work of a shared machine."""
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def in_tree(pid: int) -> bool:
        while pid > 1:
            if pid in roots:
                return True
            pid = parents.get(pid, 0)
        return False

    return sum(seconds for pid, seconds in cpu.items() if in_tree(pid))


def add_uses(org: Any, certificates: list[Any]) -> None:
    """Two uses of each certificate of `org` (a SAML SSO configuration signs with it and
    decrypts with the next one), and the Identity Provider on the first: what the where-used
    and list benches load. Call after setup()."""
    from certadmin.models import IdentityProvider, SamlSsoConfig

    count = len(certificates)
    SamlSsoConfig.objects.bulk_create(
        (
            SamlSsoConfig(
                organization=org, name=f"Config {i}", issuer=f"https://sp.test/{i}",
                idp_entity_id=f"https://idp.test/{i}", idp_login_url="https://idp.test/sso",
                idp_certificate_pem="-----BEGIN CERTIFICATE-----\n",
                request_signing_certificate=certificate,
                assertion_decryption_certificate=certificates[(i + 1) % count],
            )
            for i, certificate in enumerate(certificates)
        ),
        batch_size=2000,
    )  # fmt: skip
    IdentityProvider.objects.create(organization=org, enabled=True, certificate=certificates[0])
