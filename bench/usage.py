"""Where-used at scale: an org with 10,000 certificates and 20,000 uses (two per certificate:
10,000 SAML SSO configurations, each with a Request Signing and an Assertion Decryption
Certificate) plus the Identity Provider. The Certificate and Key Management list (with its
"Used By" column) and the Expired Certificates page must run the same number of queries for
10 and for 10,000 rows, and take at most 3 times the page's main query alone.

    .venv/bin/python bench/usage.py [--rows 10000] [--runs 30]

The floor of each page is its main query as the paginator runs it: the count and the page of
50 rows, without the uses, the session, the permissions or the rendering.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import _django

_django.setup("usage")

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from certadmin import usage  # noqa: E402
from certadmin.models import Certificate, SamlSsoConfig  # noqa: E402
from certadmin.services import expired  # noqa: E402
from orgs import permissions  # noqa: E402
from orgs.models import Organization  # noqa: E402
from orgs.services import members, organizations, profiles  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

PAGE = 50


def fill(org: Organization, count: int) -> None:
    """`count` certificates (a third expired, a third expiring within 60 days) and two uses
    of each, written with bulk_create and a dummy sealed blob (no keys are made)."""
    now = timezone.now()
    certificates = Certificate.objects.bulk_create(
        (
            Certificate(
                organization=org, label=f"Cert {i}", unique_name=f"Cert_{i}",
                kind="self_signed", key_type="RSA-2048", private_key=b"\x01sealed-dummy",
                subject=f"CN=Cert_{i}", issuer=f"CN=Cert_{i}", serial=f"{i:032X}",
                fingerprint_sha256=f"{i:064x}", chain_pem="-----BEGIN CERTIFICATE-----\n",
                not_before=now - timedelta(days=400),
                not_after=now + timedelta(minutes=(i * 37) % (180 * 1440) - 60 * 1440),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )  # fmt: skip
    if connection.vendor == "sqlite":  # bulk_create returns no ids on old SQLite: read them
        certificates = list(Certificate.objects.filter(organization=org).order_by("pk"))
    _django.add_uses(org, certificates)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return statistics.median(out)


def queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def list_floor(org: Organization) -> Callable[[], object]:
    def run() -> object:
        rows = Certificate.objects.filter(organization=org).defer(*expired.LIST_DEFERRED)
        rows.count()
        return list(rows.order_by(F("not_after").asc(nulls_last=True), "unique_name")[:PAGE])

    return run


def expired_floor(org: Organization) -> Callable[[], object]:
    def run() -> object:
        rows = expired.expired_or_expiring(org, days=60)
        rows.count()
        return list(rows[:PAGE])

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    small = organizations.create_organization(name="Small", acting_user=None)
    big = organizations.create_organization(name="Big", acting_user=None)
    admin = UserFactory(username="bench-admin")
    sysadmin = permissions.SYSTEM_ADMINISTRATOR
    for org in (small, big):
        members.add_member(org=org, user=admin, profile=profiles.standard_profile(org, sysadmin),
                            acting_user=None)  # fmt: skip
    start = time.perf_counter()
    fill(small, 10)
    fill(big, args.rows)
    with connection.cursor() as cursor:
        # Planner statistics, as autovacuum (PostgreSQL) would have them after a bulk load;
        # without them PostgreSQL scans 10,000 rows instead of using the foreign key indexes.
        cursor.execute("ANALYZE")
    uses = 2 * SamlSsoConfig.objects.filter(organization=big).count() + 1
    print(
        f"setup: {Certificate.objects.filter(organization=big).count():,} certificates and "
        f"{uses:,} uses in the big org, {time.perf_counter() - start:.1f} s "
        f"(backend: {_django.backend()})"
    )

    client = Client()
    client.force_login(admin)
    pages = {
        "certificate list": ("certadmin:certificate-list", list_floor(big)),
        "expired certificates": ("certadmin:certificate-expired", expired_floor(big)),
    }
    results = []
    same = True
    for label, (url_name, floor_fn) in pages.items():
        small_url = reverse(url_name, args=[small.public_id])
        big_url = reverse(url_name, args=[big.public_id])
        for url in (small_url, big_url):  # warm caches (ContentType, templates, session)
            client.get(url)
        n_small, n_big = queries(client, small_url), queries(client, big_url)
        same = same and n_small == n_big
        page_ms, floor_ms = [], []
        for _ in range(args.runs):  # interleaved, so load on the machine hits both alike
            page_ms.append(median_ms(lambda url=big_url: client.get(url), 1))
            floor_ms.append(median_ms(floor_fn, 1))
        page, floor = statistics.median(page_ms), statistics.median(floor_ms)
        results.append((label, page, floor))
        print(
            f"{label}: {n_small} queries with 10 rows, {n_big} with {args.rows:,} "
            f"({'same' if n_small == n_big else 'DIFFERENT'}); page median {page:.1f} ms, "
            f"main query alone {floor:.1f} ms, ratio {page / floor:.2f}"
        )
    # What the where-used registry itself adds to a page: one UNION ALL over 50 certificates.
    ids = [c.pk for c in list_floor(big)()]  # type: ignore[attr-defined]
    uses_ms = median_ms(lambda: usage.uses_by_certificate(ids), args.runs)
    n_uses = sum(len(u) for u in usage.uses_by_certificate(ids).values())
    print(f"where-used for a page of {len(ids)} certificates ({n_uses} uses): {uses_ms:.2f} ms")
    label, page, floor = max(results, key=lambda r: r[1] / r[2])
    # The old goal "page <= 3x its main query" was withdrawn (issue 14); the pages' goals are
    # against the admin changelist now (bench/pages.py). This ratio is printed for reference.
    print(f"worst ratio: {label}; constant queries: {same}")
    print(f"RESULT usage_pages_ms={page:.1f} floor={floor:.1f} ratio={page / floor:.2f}")


if __name__ == "__main__":
    main()
