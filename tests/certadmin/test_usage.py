"""The where-used registry: every kind of use, for one certificate or a whole page, in one query."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

from certadmin import usage
from certadmin.models import Certificate
from certadmin.services import certificates, sso
from orgs.models import Organization
from tests.certadmin.conftest import self_signed
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_rsa")


def test_every_kind_of_use_is_found(acme: Organization, alice: User) -> None:
    signing = rsa_certificate(acme, "Signing")
    decrypting = rsa_certificate(acme, "Decrypting")
    config = make_config(acme, "Okta", signer=signing, decrypter=decrypting)
    sso.enable_identity_provider(org=acme, certificate=signing, acting_user=alice)

    signing_uses = usage.uses_of(signing)
    decrypting_uses = usage.uses_of(decrypting)

    assert [(u.kind, u.name) for u in signing_uses] == [
        ("SAML SSO configuration (Request Signing Certificate)", "Okta"),
        ("Identity Provider", "Identity Provider"),
    ]
    assert [(u.kind, u.name) for u in decrypting_uses] == [
        ("SAML SSO configuration (Assertion Decryption Certificate)", "Okta"),
    ]
    assert signing_uses[0].ref == str(config.uuid)
    assert signing_uses[0].url.endswith(f"/sso/{config.uuid}/")
    assert signing_uses[1].url == f"/o/{acme.public_id}/setup/identity-provider/"


def test_an_unused_certificate_has_no_uses(acme: Organization) -> None:
    assert usage.uses_of(self_signed(acme)) == []


def test_configurations_on_the_retired_proxy_are_uses_of_it_within_their_org(
    acme: Organization, globex: Organization
) -> None:
    make_config(acme, "Legacy", legacy=True)
    make_config(globex, "Theirs", legacy=True)

    uses = sso.proxy_uses(acme)

    assert [u.name for u in uses] == ["Legacy"]


def test_a_page_of_certificates_costs_one_query_whatever_the_uses(
    acme: Organization, alice: User
) -> None:
    certificates = [rsa_certificate(acme, f"Cert_{n}") for n in range(4)]
    for n, certificate in enumerate(certificates[:3]):
        make_config(acme, f"Config_{n}", signer=certificate, decrypter=certificates[3])
    sso.enable_identity_provider(org=acme, certificate=certificates[0], acting_user=alice)

    with CaptureQueriesContext(connection) as queries:
        uses = usage.uses_by_certificate(c.pk for c in certificates)

    assert len(queries) == 1
    assert "UNION ALL" in queries[0]["sql"]
    assert {c.unique_name: len(uses[c.pk]) for c in certificates} == {
        "Cert_0": 2,
        "Cert_1": 1,
        "Cert_2": 1,
        "Cert_3": 3,
    }


def test_no_certificates_costs_no_query(db: None) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert usage.uses_by_certificate([]) == {}

    assert len(queries) == 0


def test_every_registered_use_is_a_protecting_foreign_key() -> None:
    """The database refuses what the registry says is in use (on_delete=PROTECT)."""
    from django.db.models import PROTECT

    for kind in usage._KINDS:
        field = kind.model._meta.get_field(kind.field)
        assert field.remote_field.on_delete is PROTECT, f"{kind.model.__name__}.{kind.field}"
    assert {k.field for k in usage.kinds_of(Certificate)} >= {
        "request_signing_certificate",
        "assertion_decryption_certificate",
        "certificate",
    }


# --- delete is refused everywhere while a certificate is used ----------------------------------


@pytest.fixture
def used(acme: Organization) -> Certificate:
    certificate = rsa_certificate(acme, "In_Use")
    make_config(acme, "Okta", signer=certificate)
    return certificate


def test_delete_service_refuses_a_used_certificate_and_says_where(used: Certificate) -> None:
    with pytest.raises(ValidationError, match=r"in use.*SAML SSO configuration.*Okta"):
        certificates.delete_certificate(certificate=used, acting_user=None)

    assert Certificate.objects.filter(pk=used.pk).exists()


def test_delete_page_refuses_and_lists_the_uses(alice_client: Client, used: Certificate) -> None:
    url = reverse("certadmin:certificate-delete", args=[used.organization.public_id, used.uuid])

    page = alice_client.get(url)
    response = alice_client.post(url, follow=True)

    assertContains(page, "is in use and cannot be deleted")
    assertContains(page, "Okta")
    assertContains(response, "is in use and cannot be deleted")
    assert Certificate.objects.filter(pk=used.pk).exists()


def test_list_and_detail_pages_offer_no_delete_for_a_used_certificate(
    alice_client: Client, used: Certificate
) -> None:
    org = used.organization.public_id
    delete_url = reverse("certadmin:certificate-delete", args=[org, used.uuid])

    listing = alice_client.get(reverse("certadmin:certificate-list", args=[org]))
    detail = alice_client.get(used.get_absolute_url())

    assertNotContains(listing, delete_url)
    assertContains(listing, "Okta")
    assertNotContains(detail, delete_url)
    assertContains(detail, 'title="In use: see Where is this used?">Delete</button>')


def test_admin_delete_action_refuses_a_used_certificate(client: Client, used: Certificate) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw"))
    changelist = reverse("admin:certadmin_certificate_changelist")

    response = client.post(
        changelist,
        {"action": "delete_selected_certificates", "_selected_action": [used.pk]},
        follow=True,
    )

    assertContains(response, "is in use and cannot be deleted")
    assert Certificate.objects.filter(pk=used.pk).exists()


def test_admin_has_no_delete_view_for_certificates(client: Client, used: Certificate) -> None:
    client.force_login(User.objects.create_superuser("root", "root@example.test", "pw"))

    response = client.post(reverse("admin:certadmin_certificate_delete", args=[used.pk]))

    assert response.status_code == 403
    assert Certificate.objects.filter(pk=used.pk).exists()


def test_the_orm_refuses_to_delete_a_used_certificate(used: Certificate) -> None:
    with pytest.raises(ProtectedError):
        used.delete()


@pytest.mark.django_db(transaction=True)
def test_the_database_itself_refuses_to_delete_a_used_certificate(used: Certificate) -> None:
    """Raw SQL bypasses Django's PROTECT; the foreign key constraint still holds."""
    table = Certificate._meta.db_table

    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [used.pk])

    assert Certificate.objects.filter(pk=used.pk).exists()


def test_the_identity_provider_keeps_its_certificate_from_deletion(
    acme: Organization, alice: User
) -> None:
    certificate = rsa_certificate(acme, "Idp_Cert")
    sso.enable_identity_provider(org=acme, certificate=certificate, acting_user=alice)

    with pytest.raises(ValidationError, match="Identity Provider"):
        certificates.delete_certificate(certificate=certificate, acting_user=alice)
    sso.disable_identity_provider(org=acme, acting_user=alice)
    certificates.delete_certificate(certificate=certificate, acting_user=alice)

    assert not Certificate.objects.filter(pk=certificate.pk).exists()
