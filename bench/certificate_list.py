"""The Certificate and Key Management list page with 10,000 certificates in one org (and 100
other orgs of 1,000 each): queries per page for 10 vs 10,000 rows, median render time,
against the page's main query alone (the floor).

    .venv/bin/python bench/certificate_list.py [--rows 10000] [--other-orgs 100] [--runs 30]
"""

import argparse
import statistics
import time
from datetime import timedelta

import _django

_django.setup("list")

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from certadmin.models import Certificate  # noqa: E402
from orgs import permissions  # noqa: E402
from orgs.models import Organization  # noqa: E402
from orgs.services import members, organizations, profiles  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

GOAL_MS = 50.0


def fill(org: Organization, count: int) -> None:
    now = timezone.now()
    Certificate.objects.bulk_create(
        (
            Certificate(
                organization=org, label=f"Cert {i}", unique_name=f"Cert_{i}",
                kind="self_signed", key_type="RSA-2048", private_key=b"\x01sealed-dummy",
                subject=f"CN=Cert_{i}", issuer=f"CN=Cert_{i}", serial=f"{i:032X}",
                fingerprint_sha256=f"{i:064x}", chain_pem="-----BEGIN CERTIFICATE-----\n",
                not_before=now - timedelta(days=10),
                not_after=now + timedelta(days=(i * 7) % 730 - 30),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )  # fmt: skip


def timed(fn, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--other-orgs", type=int, default=100)
    parser.add_argument("--other-rows", type=int, default=1_000)
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
    for n in range(args.other_orgs):
        fill(
            organizations.create_organization(name=f"Other {n}", acting_user=None), args.other_rows
        )
    print(
        f"setup: {Certificate.objects.count():,} certificates in "
        f"{Organization.objects.count()} orgs, {time.perf_counter() - start:.1f} s"
    )

    client = Client()
    client.force_login(admin)
    small_url = reverse("certadmin:certificate-list", args=[small.public_id])
    big_url = reverse("certadmin:certificate-list", args=[big.public_id])
    for url in (small_url, big_url):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as q_small:
        client.get(small_url)
    n_small = len(q_small)  # captured_queries reads the live log: count now
    with CaptureQueriesContext(connection) as q_big:
        client.get(big_url)
    n_big = len(q_big)
    assert n_small > 0, "the query capture saw nothing"

    def main_query() -> None:
        # The page's own work on the database: the count and the first page by expiry.
        rows = Certificate.objects.filter(organization=big).defer(
            "private_key", "csr_pem", "chain_pem", "subject_fields"
        )
        rows.count()
        list(rows.order_by(F("not_after").asc(nulls_last=True), "unique_name")[:50])

    page_ms, floor_ms = [], []
    for _ in range(args.runs):  # interleaved
        page_ms += timed(lambda: client.get(big_url), 1)
        floor_ms += timed(main_query, 1)
    page, floor = statistics.median(page_ms), statistics.median(floor_ms)
    print(f"backend: {_django.backend()}")
    print(
        f"queries per page: {n_small} with 10 rows, {n_big} with {args.rows:,} rows "
        f"({'same' if n_small == n_big else 'DIFFERENT'})"
    )
    print(
        f"list page ({args.rows:,} rows, page of 50): median {page:.1f} ms (goal <= {GOAL_MS} ms)"
    )
    print(f"main query alone (count + first page): median {floor:.1f} ms")
    print(f"RESULT certificate_list_ms={page:.1f} floor={floor:.1f} ratio={page / floor:.2f}")


if __name__ == "__main__":
    main()
