"""The retired default proxy certificate: flagged where it is still used, replaced in one
step, and never chosen again."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin.models import Certificate, ProxyCertificate, SamlSsoConfig
from certadmin.models.sso import PROXY_RETIRED_AT
from certadmin.services import replace, sso
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import (  # noqa: F401
    fast_rsa,
    make_config,
    proxy_certificate,
    rsa_certificate,
)
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")


@pytest.fixture
def sso_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


@pytest.fixture
def legacy(acme: Organization) -> list[SamlSsoConfig]:
    """Two configurations from before the retirement that still sign with the proxy."""
    return [make_config(acme, "Okta", legacy=True), make_config(acme, "Azure AD", legacy=True)]


def _replace_url(org: Organization) -> str:
    return reverse("certadmin:sso-proxy-replace", args=[org.public_id])


def test_the_retired_proxy_is_a_sealed_rsa_certificate(db: None) -> None:
    proxy = proxy_certificate()

    key, chain = sso.request_signer(SamlSsoConfig(proxy_certificate=proxy))

    assert proxy.key_type == "RSA-2048"
    assert key.key_size == 2048
    assert b"PRIVATE KEY" not in bytes(proxy.private_key)
    assert "default proxy certificate" in chain[0].subject.rfc4514_string()


def test_the_certificate_page_flags_configurations_on_the_proxy(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    response = sso_client.get(reverse("certadmin:certificate-list", args=[acme.public_id]))

    assertContains(response, "The retired default proxy certificate still signs requests for 2")
    assertContains(response, "Okta")
    assertContains(response, "Azure AD")
    assertContains(response, _replace_url(acme))


def test_the_certificate_page_flag_names_the_permission_when_she_cannot_replace(
    alice_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    response = alice_client.get(reverse("certadmin:certificate-list", args=[acme.public_id]))

    assertContains(response, "Someone with Customize Application can replace it")
    assertNotContains(response, _replace_url(acme))


def test_no_flag_once_nothing_uses_the_proxy(sso_client: Client, acme: Organization) -> None:
    make_config(acme, signer=rsa_certificate(acme))

    listing = sso_client.get(reverse("certadmin:certificate-list", args=[acme.public_id]))
    sso_list = sso_client.get(reverse("certadmin:sso-list", args=[acme.public_id]))

    assertNotContains(listing, "retired default proxy certificate")
    assertNotContains(sso_list, "retired default proxy certificate")


def test_replace_all_with_a_chosen_certificate(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    chosen = rsa_certificate(acme, "New_Signing")

    response = sso_client.post(
        _replace_url(acme),
        {"configurations": [str(c.uuid) for c in legacy], "certificate": str(chosen.uuid)},
        follow=True,
    )

    assertContains(response, "2 configurations now sign with New_Signing.")
    assertNotContains(response, "retired default proxy certificate.")
    for config in legacy:
        config.refresh_from_db()
        assert (config.proxy_certificate_id, config.request_signing_certificate) == (None, chosen)
    assert AuditEvent.objects.filter(organization=acme, action="switchedCertUse").count() == 2
    assert AuditEvent.objects.filter(
        organization=acme, action="replacedProxyCert", message__contains="in 2 SAML SSO"
    ).exists()


def test_replace_one_leaves_the_others_flagged(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    chosen = rsa_certificate(acme, "New_Signing")
    okta, azure = legacy

    sso_client.post(
        _replace_url(acme), {"configurations": [str(okta.uuid)], "certificate": str(chosen.uuid)}
    )

    okta.refresh_from_db()
    azure.refresh_from_db()
    assert okta.request_signing_certificate == chosen
    assert azure.uses_retired_proxy


def test_the_replace_page_preselects_the_configuration_it_was_opened_for(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    okta, azure = legacy

    page = sso_client.get(_replace_url(acme) + f"?config={okta.uuid}").content.decode()

    checked = re.findall(r'<input type="checkbox"[^>]*value="([^"]+)"[^>]*checked', page)
    assert checked == [str(okta.uuid)]
    assert str(azure.uuid) in page


def test_replace_with_a_new_self_signed_certificate(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    sso_client.post(
        _replace_url(acme),
        {"configurations": [str(c.uuid) for c in legacy], "certificate": ""},
    )

    new = Certificate.objects.get(organization=acme)
    assert new.unique_name.startswith("SelfSignedCert_")
    assert new.key_type == "RSA-2048"
    assert set(SamlSsoConfig.objects.values_list("request_signing_certificate", flat=True)) == {
        new.pk
    }


def test_the_proxy_is_never_offered_and_ecdsa_or_awaiting_ones_are_not_either(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    ecdsa = self_signed(acme, name="Ecdsa")
    awaiting = ca_signed(acme, name="Awaiting", key_type="RSA-2048")
    proxy = proxy_certificate()

    replace_page = sso_client.get(_replace_url(acme))
    create_page = sso_client.get(reverse("certadmin:sso-create", args=[acme.public_id]))

    for page in (replace_page, create_page):
        assertNotContains(page, str(proxy.uuid))
        assertNotContains(page, str(ecdsa.uuid))
        assertNotContains(page, str(awaiting.uuid))


def test_a_replaced_configuration_cannot_go_back_to_the_proxy(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    """Once replaced, the edit form offers only real certificates and needs one."""
    okta = legacy[0]
    chosen = rsa_certificate(acme)
    replace.replace_proxy_certificate(org=acme, new=chosen, configs=[okta.uuid], acting_user=None)
    edit = reverse("certadmin:sso-edit", args=[acme.public_id, okta.uuid])

    response = sso_client.post(
        edit,
        {
            "name": "Okta",
            "issuer": okta.issuer,
            "idp_entity_id": okta.idp_entity_id,
            "idp_login_url": okta.idp_login_url,
            "request_signing_certificate": str(proxy_certificate().uuid),
            "signature_method": "RSA-SHA256",
        },
    )

    assert response.status_code == 400
    okta.refresh_from_db()
    assert okta.request_signing_certificate == chosen


def test_editing_a_legacy_configuration_can_keep_or_replace_the_proxy(
    sso_client: Client, acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    okta = legacy[0]
    chosen = rsa_certificate(acme)
    edit = reverse("certadmin:sso-edit", args=[acme.public_id, okta.uuid])
    data = {
        "name": "Okta Renamed",
        "issuer": okta.issuer,
        "idp_entity_id": okta.idp_entity_id,
        "idp_login_url": okta.idp_login_url,
        "request_signing_certificate": "",
        "signature_method": "RSA-SHA256",
    }

    assertContains(sso_client.get(edit), "choose a replacement")
    kept = sso_client.post(edit, data)
    okta.refresh_from_db()
    still_proxy = okta.uses_retired_proxy
    replaced = sso_client.post(edit, {**data, "request_signing_certificate": str(chosen.uuid)})
    okta.refresh_from_db()

    assert (kept.status_code, replaced.status_code) == (302, 302)
    assert still_proxy
    assert not okta.uses_retired_proxy
    assert okta.request_signing_certificate == chosen


def test_the_database_refuses_a_new_configuration_on_the_proxy(acme: Organization) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        SamlSsoConfig.objects.create(
            organization=acme,
            name="Sneaky",
            issuer="x",
            idp_entity_id="x",
            idp_login_url="https://x.test",
            idp_certificate_pem="x",
            proxy_certificate=proxy_certificate(),
        )
    assert timezone.now() >= PROXY_RETIRED_AT


def test_the_database_refuses_both_signers_or_none(acme: Organization) -> None:
    signer = rsa_certificate(acme)
    legacy = make_config(acme, "Old", legacy=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        SamlSsoConfig.objects.filter(pk=legacy.pk).update(request_signing_certificate=signer)
    with pytest.raises(IntegrityError), transaction.atomic():
        SamlSsoConfig.objects.filter(pk=legacy.pk).update(proxy_certificate=None)


def test_the_proxy_cannot_be_deleted_or_replaced_twice(
    acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    chosen = rsa_certificate(acme)
    replace.replace_proxy_certificate(org=acme, new=chosen, acting_user=None)

    with pytest.raises(ValidationError, match="Nothing uses the retired default proxy"):
        replace.replace_proxy_certificate(org=acme, new=chosen, acting_user=None)
    with pytest.raises(ValidationError, match="never deleted"):
        replace.replace_certificate(
            org=acme, old=proxy_certificate(), new=chosen, delete_old=True, acting_user=None
        )


def test_replacing_in_one_org_leaves_other_orgs_alone(
    acme: Organization, globex: Organization, legacy: list[SamlSsoConfig]
) -> None:
    theirs = make_config(globex, "Globex Okta", legacy=True)

    replace.replace_proxy_certificate(org=acme, new=rsa_certificate(acme), acting_user=None)

    theirs.refresh_from_db()
    assert theirs.uses_retired_proxy


def test_a_certificate_of_another_org_cannot_take_over(
    acme: Organization, globex: Organization, legacy: list[SamlSsoConfig]
) -> None:
    with pytest.raises(ValidationError, match="certificate of this org"):
        replace.replace_proxy_certificate(org=acme, new=rsa_certificate(globex), acting_user=None)


def test_an_expired_certificate_cannot_take_over(
    acme: Organization, legacy: list[SamlSsoConfig]
) -> None:
    chosen = rsa_certificate(acme)
    Certificate.objects.filter(pk=chosen.pk).update(not_after=timezone.now() - timedelta(days=1))
    chosen.refresh_from_db()

    with pytest.raises(ValidationError, match="has expired"):
        replace.replace_proxy_certificate(org=acme, new=chosen, acting_user=None)


def test_pages_cope_without_the_proxy_row(sso_client: Client, acme: Organization) -> None:
    """A flushed table (transactional tests) or an operator's cleanup: nothing can use it then."""
    ProxyCertificate.objects.all().delete()

    pages = [
        sso_client.get(reverse("certadmin:sso-list", args=[acme.public_id])),
        sso_client.get(reverse("certadmin:certificate-list", args=[acme.public_id])),
        sso_client.get(_replace_url(acme)),
    ]

    assert [p.status_code for p in pages] == [200, 200, 200]
    assertContains(pages[2], "No configuration uses the retired default proxy certificate.")
    with pytest.raises(ValidationError, match="Nothing uses"):
        replace.replace_proxy_certificate(org=acme, acting_user=None)
