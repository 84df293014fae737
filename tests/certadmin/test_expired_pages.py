"""Expired Certificates: what has expired or soon will, what uses it, and cleaning up."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate, SamlSsoConfig
from certadmin.services import expired, sso
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_rsa")


def _expire(certificate: Certificate, days_ago: int = 3) -> Certificate:
    Certificate.objects.filter(pk=certificate.pk).update(
        not_after=timezone.now() - timedelta(days=days_ago)
    )
    certificate.refresh_from_db()
    return certificate


def _expiring(certificate: Certificate, days: int) -> Certificate:
    Certificate.objects.filter(pk=certificate.pk).update(
        not_after=timezone.now() + timedelta(days=days, hours=1)
    )
    certificate.refresh_from_db()
    return certificate


def _page(org: Organization, **params: str) -> str:
    url = reverse("certadmin:certificate-expired", args=[org.public_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def _delete_url(org: Organization) -> str:
    return reverse("certadmin:certificate-expired-delete", args=[org.public_id])


@pytest.fixture
def mix(acme: Organization) -> dict[str, Certificate]:
    """An expired unused one, an expired used one, one expiring in 20 and in 80 days, a fresh
    one and one awaiting its chain."""
    certificates = {
        "old": _expire(self_signed(acme, name="Old_Unused")),
        "used": _expire(rsa_certificate(acme, "Old_Used")),
        "soon": _expiring(self_signed(acme, name="Soon"), 20),
        "later": _expiring(self_signed(acme, name="Later"), 80),
        "fresh": self_signed(acme, name="Fresh"),
        "awaiting": ca_signed(acme, name="Awaiting"),
    }
    make_config(acme, "Okta", signer=certificates["used"])
    return certificates


def test_lists_expired_and_soon_expiring_with_their_uses(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate]
) -> None:
    response = alice_client.get(_page(acme))

    for name in ("Old_Unused", "Old_Used", "Soon"):
        assertContains(response, name)
    for name in ("Later", "Fresh", "Awaiting"):
        assertNotContains(response, f"<td>{name}</td>", html=True)
    assertContains(response, "SAML SSO configuration (Request Signing Certificate)")
    assertContains(response, "Okta")
    assertContains(
        response,
        reverse("certadmin:certificate-replace", args=[acme.public_id, mix["used"].uuid]),
    )
    assertContains(response, f'value="{mix["old"].uuid}"')
    assertNotContains(response, f'value="{mix["used"].uuid}"')  # no checkbox for a used one


def test_shows_the_names_of_uses_as_text(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate]
) -> None:
    SamlSsoConfig.objects.filter(organization=acme).update(name="<i>Okta</i> & co")

    response = alice_client.get(_page(acme))

    assertContains(response, "&lt;i&gt;Okta&lt;/i&gt; &amp; co")
    assertNotContains(response, "<i>Okta</i>")


def test_a_wider_window_shows_more(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate]
) -> None:
    response = alice_client.get(_page(acme, within="90"))

    assertContains(response, "<td>Later</td>", html=True)


def test_query_count_does_not_grow_with_rows(alice_client: Client, acme: Organization) -> None:
    signer = _expire(rsa_certificate(acme, "First"))
    make_config(acme, "First", signer=signer)
    alice_client.get(_page(acme))
    with CaptureQueriesContext(connection) as one:
        alice_client.get(_page(acme))
    for n in range(6):
        certificate = _expire(rsa_certificate(acme, f"More_{n}"))
        make_config(acme, f"More {n}", signer=certificate, decrypter=certificate)
    with CaptureQueriesContext(connection) as many:
        alice_client.get(_page(acme))

    assert len(many) == len(one)


def test_bulk_delete_shows_what_will_happen_first(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate]
) -> None:
    chosen = [mix["old"].uuid, mix["used"].uuid, mix["soon"].uuid]

    preview = alice_client.post(_delete_url(acme), {"certificates": chosen})

    assertContains(preview, "will be deleted for good")
    assertContains(preview, "<strong>Old_Unused</strong>")
    assertContains(preview, "Old_Used</strong>: in use (SAML SSO configuration")
    assertContains(preview, "Soon</strong>: not expired")
    assert Certificate.objects.filter(organization=acme).count() == 6


def test_confirmed_bulk_delete_removes_only_unused_expired_ones(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate]
) -> None:
    chosen = [mix["old"].uuid, mix["used"].uuid, mix["soon"].uuid]

    response = alice_client.post(
        _delete_url(acme), {"certificates": chosen, "confirm": "1"}, follow=True
    )

    assertContains(response, "Deleted 1 certificate: Old_Unused.")
    assertContains(response, "Kept Old_Used: in use")
    remaining = set(Certificate.objects.values_list("unique_name", flat=True))
    assert remaining == {"Old_Used", "Soon", "Later", "Fresh", "Awaiting"}
    assert AuditEvent.objects.filter(
        action="deletedCert", message__startswith="Deleted expired certificate Old_Unused"
    ).exists()


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", ""])
def test_bulk_delete_with_bad_input_explains_instead_of_failing(
    alice_client: Client, acme: Organization, mix: dict[str, Certificate], value: str
) -> None:
    response = alice_client.post(
        _delete_url(acme), {"certificates": [value], "confirm": "1"}, follow=True
    )

    assert response.status_code == 200
    assertContains(response, 'class="message error"')
    assert Certificate.objects.filter(organization=acme).count() == 6


def test_bulk_delete_cannot_reach_another_orgs_certificates(
    alice_client: Client, acme: Organization, globex: Organization
) -> None:
    theirs = _expire(self_signed(globex, name="Theirs"))

    alice_client.post(_delete_url(acme), {"certificates": [theirs.uuid], "confirm": "1"})

    assert Certificate.objects.filter(pk=theirs.pk).exists()


def test_a_use_appearing_after_the_preview_stops_the_delete(
    acme: Organization, mix: dict[str, Certificate], alice: User
) -> None:
    """The plan is made again inside the transaction; the database has the last word."""
    old = mix["old"]
    make_config(acme, "Late", signer=None, decrypter=old, legacy=True)

    plan = expired.delete_expired_certificates(org=acme, uuids=[old.uuid], acting_user=alice)

    assert plan.deletable == []
    assert Certificate.objects.filter(pk=old.pk).exists()


def test_the_identity_provider_is_listed_as_a_use(
    alice_client: Client, acme: Organization, alice: User
) -> None:
    certificate = _expiring(rsa_certificate(acme, "Idp_Soon"), 5)
    sso.enable_identity_provider(org=acme, certificate=certificate, acting_user=alice)

    response = alice_client.get(_page(acme))

    assertContains(response, "Identity Provider: <a")
