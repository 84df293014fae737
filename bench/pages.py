"""The Setup pages of a big org side by side with the Django admin pages a superuser would use
instead (issue 14): one org with 10,000 certificates and 20,000 uses (10,000 SAML SSO
configurations, each with a Request Signing and an Assertion Decryption Certificate), 200
other orgs beside it, and an expiry notice for each certificate due within 60 days.

    .venv/bin/python bench/pages.py [--rows 10000] [--other-orgs 200] [--other-rows 50]
        [--runs 15] [--server auto|yes|no] [--rounds 3] [--seconds 1.0] [--clients 4]
        [--random-page-cost 1.1]

Pages and their peers (the admin changelist of the same model and org, on the same page):
the certificate list (first page; page 150 sorted by label and by expiration date), a
certificate's detail page, Expired Certificates and Expiration Notifications. Setup pages
are read by an org member with the System Administrator profile (not a superuser: guardian's
check is part of the page), admin pages by a superuser.

In process (the Django test client; SQLite or DATABASE_URL): every page and peer `--runs`
times, interleaved, median. On PostgreSQL also under load (`--server`): gunicorn
(deploy/gunicorn.conf.py, `--workers` workers of 4 threads) and `--clients` client threads
with kept-alive connections, each URL for `--seconds` per round, the rounds interleaved;
p50 of the requests' latencies. The floor is the certificate changelist's p50 (first page
of the org); the goals: every page <= 0.5x the floor, a deep sorted page <= 1.3x its first
page, the same number of queries for 10 and for 10,000 rows, no sealed column read by a
changelist. The last line is `RESULT`, the line before it `DEEP`.
"""

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import _django

_django.setup("pages")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from certadmin.models import Certificate, SamlSsoConfig  # noqa: E402
from deploy.mtls_stack import Stack  # noqa: E402
from notifications.models import ExpiryNotice  # noqa: E402
from orgs import permissions  # noqa: E402
from orgs.models import Organization  # noqa: E402
from orgs.services import members, organizations, profiles  # noqa: E402
from tests.pem import make_certificate  # noqa: E402

PAGE_GOAL = 0.5  # every page's p50 / the certificate changelist's p50
DEEP_GOAL = 1.3  # a deep sorted page's p50 / the same sort's first page
DEEP_PAGE = 150  # of 50 rows: the admin shows 100 a page, so its page 75 is the same rows
# What a changelist must not read: the sealed key and the PEM blobs (chain, CSR).
SEALED_COLUMNS = ('"private_key"', '"chain_pem"', '"csr_pem"')
# One real certificate, three times: a chain of the usual size the detail page can parse.
CHAIN = make_certificate(common_name="bench.example.test")[0].decode() * 3


def fill(org: Organization, count: int, *, uses: bool, recipient: User | None = None) -> None:
    """`count` certificates (a third expired, a third expiring within 60 days), written with
    bulk_create and a dummy sealed blob (no keys are made); with `uses`, two uses of each and
    a sent 60-day notice to `recipient` for each certificate due within 60 days."""
    now = timezone.now()
    # From 60 days ago to 120 days ahead, spread alike in a small org and a big one.
    step = max(37, 180 * 1440 // count)
    rows = [
        Certificate(
            organization=org, label=f"Cert {(i * 7919) % count}", unique_name=f"Cert_{i}",
            kind="self_signed", key_type="RSA-2048", private_key=b"\x01sealed-dummy" * 90,
            subject=f"CN=Cert_{i}", issuer=f"CN=Cert_{i}", serial=f"{i:032X}",
            fingerprint_sha256=f"{i:064x}", chain_pem=CHAIN, csr_pem=CHAIN[: len(CHAIN) // 3],
            not_before=now - timedelta(days=400),
            not_after=now + timedelta(minutes=(i * step) % (180 * 1440) - 60 * 1440),
        )
        for i in range(count)
    ]  # fmt: skip
    Certificate.objects.bulk_create(rows, batch_size=2000)
    if not uses:
        return
    certificates = list(Certificate.objects.filter(organization=org).order_by("pk"))
    _django.add_uses(org, certificates)
    due = [c for c in certificates if c.not_after and c.not_after <= now + timedelta(days=60)]
    ExpiryNotice.objects.bulk_create(
        (
            ExpiryNotice(
                organization=org, source="certificate", object_id=c.pk, object_uuid=c.uuid,
                certificate=c, label=c.label, kind_label="Certificate", expires_at=c.not_after,
                threshold=60, recipient=recipient,
                recipient_email=recipient.email if recipient else "", state="sent",
                attempts=1, sent_at=now, created_at=now - timedelta(minutes=i),
            )
            for i, c in enumerate(due)
        ),
        batch_size=2000,
    )  # fmt: skip


@dataclass
class Pair:
    """A Setup page and the admin page a superuser would open instead."""

    name: str
    page: str  # path, read by the org member
    peer: str  # path, read by the superuser
    small_page: str = ""  # the same page in the org of 10 certificates (query count)


def pairs(big: Organization, small: Organization, cert: Certificate, rows: int) -> list[Pair]:
    def setup(name: str, org: Organization, *args: object, **query: object) -> str:
        url = reverse(name, args=[org.public_id, *args])
        return f"{url}?{urlencode(query)}" if query else url

    def changelist(**query: object) -> str:
        return f"/admin/certadmin/certificate/?{urlencode({'organization__id__exact': big.pk, **query})}"  # noqa: E501

    # list_display of CertificateAdmin: unique_name, label, organization, kind, key_type,
    # not_after: o=2 sorts by label, o=6 by expiration date.
    deep_page = max(2, min(DEEP_PAGE, rows // 50))  # fewer with --rows < 7,500
    deep = {"page": deep_page}
    admin_deep = {"p": (deep_page + 1) // 2}
    horizon = (timezone.now() + timedelta(days=60)).isoformat()
    lst, expired = "certadmin:certificate-list", "certadmin:certificate-expired"
    return [
        Pair("list", setup(lst, big), changelist(), setup(lst, small)),
        Pair("list by label", setup(lst, big, sort="label"), changelist(o=2),
             setup(lst, small, sort="label")),
        Pair("list p150 by label", setup(lst, big, sort="label", **deep),
             changelist(o=2, **admin_deep), setup(lst, small, sort="label", **deep)),
        Pair("list p150 by expiry", setup(lst, big, **deep), changelist(o=6, **admin_deep),
             setup(lst, small, **deep)),
        # Issue 15: a search (Label, Unique Name, subject, issuer, serial, fingerprint) and a
        # sort the indexes do not serve (Key, descending); the admin searches fewer columns.
        Pair("list search", setup(lst, big, q="Cert_77"), changelist(q="Cert_77"),
             setup(lst, small, q="Cert_7")),
        Pair("list by key desc", setup(lst, big, sort="key", dir="desc"), changelist(o="-5"),
             setup(lst, small, sort="key", dir="desc")),
        Pair("list p150 search+sort", setup(lst, big, q="cert", sort="label", dir="desc", **deep),
             changelist(q="cert", o="-2", **admin_deep),
             setup(lst, small, q="cert", sort="label", dir="desc", **deep)),
        Pair("setup home", setup("orgs:setup-home", big), changelist(),
             setup("orgs:setup-home", small)),
        Pair("detail", setup("certadmin:certificate-detail", big, cert.uuid),
             f"/admin/certadmin/certificate/{cert.pk}/change/"),
        Pair("expired", setup(expired, big), changelist(not_after__lte=horizon, o=6),
             setup(expired, small)),
        Pair("notifications", setup("notifications:settings", big),
             f"/admin/notifications/expirynotice/?organization__id__exact={big.pk}",
             setup("notifications:settings", small)),
    ]  # fmt: skip


def count_queries(client: Client, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(captured), [q["sql"] for q in captured.captured_queries]


def elapsed_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def in_process(member: Client, root: Client, plan: list[Pair], runs: int) -> dict[str, float]:
    """{path: median ms} of every page and peer, interleaved."""
    paths = [(member, p.page) for p in plan] + [(root, p.peer) for p in plan]
    times: dict[str, list[float]] = {path: [] for _, path in paths}
    for client, path in paths:  # warm up
        client.get(path)
    for _ in range(runs):
        for client, path in paths:
            times[path].append(elapsed_ms(lambda c=client, p=path: c.get(p)))
    return {path: statistics.median(t) for path, t in times.items()}


def load(port: int, path: str, cookie: str, seconds: float, clients: int) -> list[float]:
    """Latencies (ms) of the requests `clients` kept-alive connections make in `seconds`."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[str] = []
    stop_at = time.perf_counter() + seconds
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}", "Host": "127.0.0.1"}

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[n].append((time.perf_counter() - start) * 1000)
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        conn.close()

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    if failures:
        sys.exit(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return [ms for per_client in latencies for ms in per_client]


def under_load(
    cookies: dict[str, str], plan: list[Pair], args: argparse.Namespace
) -> dict[str, float]:
    """{path: p50 ms} under gunicorn with `args.clients` concurrent clients."""
    work = Path(tempfile.mkdtemp(prefix="bench-pages-stack-"))
    static_root = work / "static"
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {"DATABASE_URL": url, "CONN_MAX_AGE": "60", "STATIC_ROOT": str(static_root)}
    # Production serves the static files with whitenoise's manifest: collect them first.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "--verbosity", "0"],
        cwd=_django.ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "certadmin.settings", **env},
        check=True,
        timeout=300,
    )
    paths = [("member", p.page) for p in plan] + [("root", p.peer) for p in plan]
    times: dict[str, list[float]] = {path: [] for _, path in paths}
    with Stack(workdir=work / "stack", workers=args.workers, app_env=env) as stack:
        for who, path in paths:  # warm up every worker
            load(stack.app_port, path, cookies[who], 0.3, args.clients)
        for round_ in range(args.rounds):
            for who, path in paths if round_ % 2 == 0 else paths[::-1]:
                times[path] += load(stack.app_port, path, cookies[who], args.seconds, args.clients)
    return {path: statistics.median(t) for path, t in times.items()}


def report(label: str, plan: list[Pair], ms: dict[str, float]) -> tuple[float, float, float]:
    """Print the side-by-side table; return (floor, worst page ratio, worst deep ratio)."""
    floor = ms[plan[0].peer]
    print(f"\n{label}: floor = certificate changelist p50 {floor:.1f} ms")
    print(f"  {'page':<22}{'Setup ms':>10}{'admin ms':>10}{'/floor':>8}{'/peer':>7}")
    for p in plan:
        page, peer = ms[p.page], ms[p.peer]
        print(f"  {p.name:<22}{page:>10.1f}{peer:>10.1f}{page / floor:>8.2f}{page / peer:>7.2f}")
    by_name = {p.name: ms[p.page] for p in plan}
    deep = {
        "label": by_name["list p150 by label"] / by_name["list by label"],
        "expiry": by_name["list p150 by expiry"] / by_name["list"],
    }
    print("  deep / first page: " + ", ".join(f"by {k} {v:.2f}" for k, v in deep.items()))
    return floor, max(ms[p.page] / floor for p in plan), max(deep.values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--other-orgs", type=int, default=200)
    parser.add_argument("--other-rows", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--server", choices=("auto", "yes", "no"), default="auto")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    # PostgreSQL's default (4) prices a random read as on a spinning disk; 1.1 is the usual
    # setting on SSDs or a database that fits in memory. With 4 the planner sorts a big org's
    # rows for a deep page instead of walking the index in the page's order.
    parser.add_argument("--random-page-cost", type=float, default=None)
    args = parser.parse_args()
    server = args.server == "yes" or (args.server == "auto" and connection.vendor != "sqlite")
    if server and connection.vendor == "sqlite":
        sys.exit("--server needs PostgreSQL (DATABASE_URL)")

    start = time.perf_counter()
    small = organizations.create_organization(name="Small", acting_user=None)
    big = organizations.create_organization(name="Big", acting_user=None)
    user = User.objects.create_user("bench-member", "member@bench.test")
    root = User.objects.create_superuser("bench-root", "root@bench.test")
    sysadmin = permissions.SYSTEM_ADMINISTRATOR
    for org in (small, big):
        members.add_member(org=org, user=user, profile=profiles.standard_profile(org, sysadmin),
                            acting_user=None)  # fmt: skip
    fill(small, 10, uses=True, recipient=user)
    fill(big, args.rows, uses=True, recipient=user)
    for n in range(args.other_orgs):
        org = organizations.create_organization(name=f"Other {n}", acting_user=None)
        fill(org, args.other_rows, uses=False)
    with connection.cursor() as cursor:
        # Planner statistics and the visibility map, as autovacuum leaves them after a bulk
        # load (PostgreSQL 13+ vacuums after inserts too): index-only scans depend on the map.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        if args.random_page_cost is not None and connection.vendor == "postgresql":
            name = connection.ops.quote_name(connection.settings_dict["NAME"])
            cursor.execute(f"ALTER DATABASE {name} SET random_page_cost = {args.random_page_cost}")
            cursor.execute(f"SET random_page_cost = {args.random_page_cost}")
    print(
        f"setup: {Certificate.objects.filter(organization=big).count():,} certificates, "
        f"{2 * SamlSsoConfig.objects.filter(organization=big).count() + 1:,} uses and "
        f"{ExpiryNotice.objects.filter(organization=big).count():,} notices in the big org, "
        f"{Organization.objects.count()} orgs, {Certificate.objects.count():,} certificates, "
        f"{time.perf_counter() - start:.1f} s (backend: {_django.backend()}"
        f"{f', random_page_cost {args.random_page_cost}' if args.random_page_cost else ''})"
    )

    member, admin = Client(), Client()
    member.force_login(user)
    admin.force_login(root)
    cert = Certificate.objects.filter(organization=big).order_by("not_after")[args.rows // 2]
    plan = pairs(big, small, cert, args.rows)

    same = True
    print("\nqueries (10 rows / many rows):")
    for p in plan:
        if not p.small_page:
            continue
        n_small, _ = count_queries(member, p.small_page)
        n_big, _ = count_queries(member, p.page)
        same = same and n_small == n_big
        print(
            f"  {p.name:<22}{n_small:>4} / {n_big:<4}{'same' if n_small == n_big else 'DIFFERENT'}"
        )
    sealed = []
    for p in plan:
        if "/change/" not in p.peer:
            _, sqls = count_queries(admin, p.peer)
            sealed += [(p.name, c) for sql in sqls for c in SEALED_COLUMNS if c in sql]
    pages = ", ".join(sorted({name for name, _ in sealed})) or "none"
    columns = " ".join(sorted({column for _, column in sealed}))
    print(f"changelists reading sealed columns: {pages}{f' ({columns})' if columns else ''}")

    ms = in_process(member, admin, plan, args.runs)
    floor, worst, deep = report(f"in process ({_django.backend()})", plan, ms)
    if server:
        cookies = {"member": member.cookies["sessionid"].value,
                   "root": admin.cookies["sessionid"].value}  # fmt: skip
        ms = under_load(cookies, plan, args)
        label = f"gunicorn ({args.workers} workers x 4 threads), {args.clients} clients"
        floor, worst, deep = report(label, plan, ms)
    met = {True: "met", False: "NOT met"}
    print(
        f"\ngoals: pages <= {PAGE_GOAL} x changelist ({met[worst <= PAGE_GOAL]}), "
        f"deep <= {DEEP_GOAL} x first ({met[deep <= DEEP_GOAL]}), "
        f"same queries: {same}, changelists read no sealed column: {not sealed}"
    )
    print(f"DEEP ratio={deep:.2f}")
    print(f"RESULT name=pages floor={floor:.1f} ratio={worst:.2f}")


if __name__ == "__main__":
    main()
