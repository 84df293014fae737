"""Setup Home as a dashboard (issue 15): counts, the 24-month expiry chart and its table, the
last audit entries, links into the filtered list; the same chart on the list page."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate, IdentityProvider, MutualAuthCertificate
from orgs.models import Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import make_config

TZ = "Pacific/Auckland"  # not UTC: months begin 11-13 hours before UTC's


def _home(org: Organization) -> str:
    return reverse("orgs:setup-home", args=[org.public_id])


def _month_start(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=ZoneInfo(TZ))


def _next_month(moment: datetime, months: int = 1) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return _month_start(index // 12, index % 12 + 1)


@pytest.fixture
def org(acme: Organization) -> Organization:
    acme.time_zone = TZ
    acme.save(update_fields=["time_zone"])
    return acme


@pytest.fixture
def certificates(org: Organization) -> list[Certificate]:
    """Expired, expiring in 5, 25, 45 and 400 days, two on each side of the start of the
    month after next (in the org's time zone), one far beyond the chart, one awaiting its
    chain; an SSO configuration and the Identity Provider use some."""
    now = timezone.now()
    this_month = timezone.localtime(now, ZoneInfo(TZ)).replace(day=1)
    boundary = _next_month(this_month, 2)
    when = {
        "Gone": now - timedelta(days=3),
        "In_5": now + timedelta(days=5),
        "In_25": now + timedelta(days=25),
        "In_45": now + timedelta(days=45),
        "In_400": now + timedelta(days=400),
        "Before_Boundary": boundary - timedelta(minutes=1),
        "After_Boundary": boundary + timedelta(minutes=1),
        "Far": now + timedelta(days=365 * 5),
    }
    made = []
    for name, not_after in when.items():
        cert = self_signed(org, name)
        Certificate.objects.filter(pk=cert.pk).update(not_after=not_after)
        cert.not_after = not_after
        made.append(cert)
    made.append(ca_signed(org, "Pending"))
    make_config(org, signer=made[1], decrypter=made[2])
    IdentityProvider.objects.create(organization=org, enabled=True, certificate=made[0])
    return made


def _counts(html: str) -> dict[str, tuple[int, str]]:
    """{what a count says: (the count, where it links)} of the certificates panel."""
    panel = html.split('id="certificates-summary"')[1].split('class="expiry-chart"')[0]
    found = re.findall(
        r'<a href="([^"]+)"><span class="count">(\d+)</span> <span class="what">([^<]+)</span>',
        panel,
    )
    return {what: (int(count), href.replace("&amp;", "&")) for href, count, what in found}


def test_setup_home_counts_match_the_database(
    alice_client: Client, org: Organization, certificates: list[Certificate]
) -> None:
    MutualAuthCertificate.objects.create(
        organization=org, label="Client", unique_name="Client", chain_pem="-",
        subject="CN=c", issuer="CN=ca", serial="1", fingerprint_sha256="ab" * 32,
        not_before=timezone.now(), not_after=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    now = timezone.now()
    rows = list(Certificate.objects.filter(organization=org))
    left = {c.unique_name: c.not_after - now for c in rows if c.not_after}

    counts = _counts(alice_client.get(_home(org)).content.decode())

    def within(days: int) -> int:
        return sum(1 for delta in left.values() if timedelta(0) < delta <= timedelta(days))

    assert counts["Expired"][0] == sum(1 for d in left.values() if d <= timedelta(0)) == 1
    assert counts["Expiring within 10 days"][0] == within(10) == 1
    assert counts["Expiring within 30 days"][0] == within(30) == 2
    assert counts["Expiring within 60 days"][0] == within(60)
    assert counts["Awaiting signed certificate"][0] == 1
    assert counts["Used by SSO"][0] == 2
    assert counts["Used by the IdP"][0] == 1
    assert counts["Mutual authentication certificates"][0] == 1


def test_each_count_links_to_the_list_filtered_the_same_way(
    alice_client: Client, org: Organization, certificates: list[Certificate]
) -> None:
    counts = _counts(alice_client.get(_home(org)).content.decode())
    for what, (count, href) in counts.items():
        if what == "Mutual authentication certificates":
            assert href.endswith("#mutual-auth")
            continue
        listed = alice_client.get(href).content.decode()
        table = listed.split('id="certificates"')[1].split("</table>")[0]
        rows = len(re.findall(r'<td class="action">', table))
        assert rows == count, what
        assert count > 0, what  # a link that lists nothing would prove nothing here


def _chart(html: str) -> list[tuple[str, int]]:
    """[(month key, count)] of the SVG's bars."""
    return [
        (month, int(count))
        for month, count in re.findall(r'data-month="([\d-]+)" data-count="(\d+)"', html)
    ]


def test_the_chart_has_24_months_in_the_org_time_zone_and_matches_the_database(
    alice_client: Client, org: Organization, certificates: list[Certificate]
) -> None:
    html = alice_client.get(_home(org)).content.decode()
    bars = _chart(html)
    now = timezone.now()
    this_month = timezone.localtime(now, ZoneInfo(TZ)).replace(day=1)
    months = [_next_month(this_month, i) for i in range(24)]

    assert [key for key, _ in bars] == [m.strftime("%Y-%m") for m in months]
    for (key, count), start in zip(bars, months, strict=True):
        end = _next_month(start)
        expected = sum(
            1 for c in certificates if c.not_after and max(start, now) <= c.not_after < end
        )
        assert count == expected, key
    by_month = dict(bars)
    assert by_month[months[1].strftime("%Y-%m")] >= 1  # Before_Boundary
    assert by_month[months[2].strftime("%Y-%m")] >= 1  # After_Boundary
    # The table behind the chart: the same 24 months and counts.
    table = html.split('id="expiry-chart-table"')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td>(?:<a href="[^"]*">)?(\d+)', table)
    assert [(name, int(n)) for name, n in rows] == [
        (m.strftime("%B %Y"), count) for m, (_, count) in zip(months, bars, strict=True)
    ]
    assert 'role="img"' in html
    assert "https://" not in html.split("<svg")[1].split("</svg>")[0]  # nothing fetched


def test_each_month_of_the_chart_links_to_its_certificates(
    alice_client: Client, org: Organization, certificates: list[Certificate]
) -> None:
    html = alice_client.get(_home(org)).content.decode()
    table = html.split('id="expiry-chart-table"')[1].split("</table>")[0]
    links = re.findall(r'<a href="([^"]+)">(\d+)</a>', table)

    assert links
    for href, count in links:
        listed = alice_client.get(href.replace("&amp;", "&")).content.decode()
        rows = listed.split('id="certificates"')[1].split("</table>")[0]
        assert len(re.findall(r'<td class="action">', rows)) == int(count), href
        assertContains(alice_client.get(href.replace("&amp;", "&")), "Expiring in ")


def test_setup_home_costs_the_same_queries_for_few_and_many_certificates(
    alice_client: Client, org: Organization
) -> None:
    self_signed(org, "First")
    alice_client.get(_home(org))
    with CaptureQueriesContext(connection) as few:
        alice_client.get(_home(org))
    now = timezone.now()
    Certificate.objects.bulk_create(
        Certificate(
            organization=org, label=f"Bulk {i}", unique_name=f"Bulk_{i}", kind="self_signed",
            key_type="EC-P256", private_key=b"\x01sealed-dummy", not_before=now,
            not_after=now + timedelta(days=i * 7),
        )
        for i in range(1, 120)
    )  # fmt: skip
    with CaptureQueriesContext(connection) as many:
        alice_client.get(_home(org))

    assert len(many) == len(few)
    on_certificates = [
        q["sql"] for q in many.captured_queries if 'FROM "certadmin_certificate"' in q["sql"]
    ]
    assert len(on_certificates) == 1  # every count and every month: one aggregate query


def test_setup_home_lists_the_last_changes_of_the_org(
    alice_client: Client, org: Organization, globex: Organization
) -> None:
    for i in range(12):
        self_signed(org, f"Change_{i:02}")
    self_signed(globex, "Elsewhere")

    html = alice_client.get(_home(org)).content.decode()
    recent = html.split('id="recent-changes"')[1].split("</table>")[0]

    assert "Change_11" in recent
    assert "Change_02" in recent
    assert "Change_01" not in recent  # ten entries, newest first
    assert recent.index("Change_11") < recent.index("Change_10")
    assert "Elsewhere" not in recent


def test_a_member_without_the_permissions_sees_neither_panel(
    client: Client, org: Organization, bob: User, certificates: list[Certificate]
) -> None:
    client.force_login(bob)
    response = client.get(_home(org))

    assert response.status_code == 200
    assertNotContains(response, 'id="certificates-summary"')
    assertNotContains(response, 'id="recent-changes"')
    assertContains(response, "Company Information")


def test_the_list_page_shows_the_chart_collapsible_above_the_list(
    alice_client: Client, org: Organization, certificates: list[Certificate]
) -> None:
    html = alice_client.get(reverse("certadmin:certificate-list", args=[org.public_id])).content
    text = html.decode()

    assert text.index('<details class="card chart-card" id="expiry-chart">') < text.index(
        'id="certificates"'
    )
    assert len(_chart(text)) == 24
    assert _chart(text) == _chart(alice_client.get(_home(org)).content.decode())
