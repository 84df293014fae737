"""Replacing a used certificate: every use moves in one step (or none does), then the old one
goes. Renew reuses the same switch."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from certadmin import naming, usage
from certadmin.models import Certificate, IdentityProvider, SamlSsoConfig
from certadmin.services import replace, sso
from orgs.models import AuditEvent, Organization
from tests.certadmin.conftest import ca_signed, self_signed
from tests.certadmin.sso_helpers import fast_rsa, make_config, rsa_certificate  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_rsa")


@pytest.fixture
def old(acme: Organization, alice: User) -> Certificate:
    """Expired, and used in every way: two configurations and the Identity Provider."""
    certificate = rsa_certificate(acme, "Old_Signing")
    make_config(acme, "Okta", signer=certificate)
    make_config(acme, "Azure AD", signer=rsa_certificate(acme, "Other"), decrypter=certificate)
    sso.enable_identity_provider(org=acme, certificate=certificate, acting_user=alice)
    Certificate.objects.filter(pk=certificate.pk).update(
        not_after=timezone.now() - timedelta(days=2)
    )
    certificate.refresh_from_db()
    return certificate


def _snapshot() -> list[tuple[object, ...]]:
    return [
        *SamlSsoConfig.objects.order_by("pk").values_list(
            "request_signing_certificate", "assertion_decryption_certificate", "proxy_certificate"
        ),
        *IdentityProvider.objects.order_by("pk").values_list("certificate"),
    ]


def _url(name: str, certificate: Certificate) -> str:
    return reverse(f"certadmin:{name}", args=[certificate.organization.public_id, certificate.uuid])


def test_replace_switches_every_use_then_deletes_the_old_one(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    new = rsa_certificate(acme, "New_Signing")

    response = alice_client.post(
        _url("certificate-replace", old),
        {"certificate": str(new.uuid), "delete_old": "on"},
        follow=True,
    )

    assertContains(response, "Switched 3 uses of Old_Signing to New_Signing; deleted Old_Signing.")
    assert not Certificate.objects.filter(pk=old.pk).exists()
    assert len(usage.uses_of(new)) == 3
    assert AuditEvent.objects.filter(action="switchedCertUse").count() == 3


def test_replace_with_a_new_self_signed_certificate_of_the_same_kind(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    alice_client.post(_url("certificate-replace", old), {"certificate": ""})

    new = Certificate.objects.exclude(pk=old.pk).exclude(unique_name="Other").get()
    assert new.unique_name.startswith("Old_Signing_")  # Old_Signing_<ddMonYYYY>
    today = timezone.now().astimezone(acme.tzinfo).date().isoformat()
    assert (new.key_type, new.label) == ("RSA-2048", f"{old.label} (renewed {today})")
    assert len(usage.uses_of(new)) == 3
    assert Certificate.objects.filter(pk=old.pk).exists()  # delete_old was not ticked


def test_replace_page_offers_only_what_every_use_accepts(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    ecdsa = self_signed(acme, name="Ecdsa")
    awaiting = ca_signed(acme, name="Awaiting", key_type="RSA-2048")
    good = rsa_certificate(acme, "Good")

    page = alice_client.get(_url("certificate-replace", old))

    assertContains(page, str(good.uuid))
    for refused in (ecdsa, awaiting):
        assertNotContains(page, str(refused.uuid))
    assertNotContains(page, f'<option value="{old.uuid}"')
    assertContains(page, "Okta")
    assertContains(page, 'id="id_delete_old" checked')  # expired: default on


def test_the_service_refuses_a_key_a_use_cannot_take(acme: Organization, old: Certificate) -> None:
    with pytest.raises(ValidationError, match="needs one of RSA-2048"):
        replace.replace_certificate(
            org=acme, old=old, new=self_signed(acme, name="Ecdsa"), acting_user=None
        )

    assert len(usage.uses_of(old)) == 3


def test_a_failure_half_way_leaves_everything_as_it_was(
    acme: Organization, old: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first kind of use has moved when the second one fails: all of it rolls back,
    including the certificate generated for the occasion and the audit lines."""
    before = _snapshot()
    certificates_before = set(Certificate.objects.values_list("pk", flat=True))
    audit_before = AuditEvent.objects.count()
    real_move = usage._move
    calls = []

    def move_then_fail(*args: object, **kwargs: object) -> int:
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return real_move(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(usage, "_move", move_then_fail)

    with pytest.raises(RuntimeError):
        replace.replace_certificate(org=acme, old=old, delete_old=True, acting_user=None)

    assert len(calls) == 2
    assert _snapshot() == before
    assert set(Certificate.objects.values_list("pk", flat=True)) == certificates_before
    assert AuditEvent.objects.count() == audit_before


def test_a_failing_delete_after_the_switch_rolls_the_switch_back(
    acme: Organization, old: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot()
    new = rsa_certificate(acme, "New_Signing")

    def refuse(**kwargs: object) -> None:
        raise ValidationError("refused")

    monkeypatch.setattr(replace.certificates, "delete_certificate", refuse)

    with pytest.raises(ValidationError):
        replace.replace_certificate(org=acme, old=old, new=new, delete_old=True, acting_user=None)

    assert _snapshot() == before


def test_replace_of_an_unused_certificate_says_there_is_nothing_to_switch(
    alice_client: Client, acme: Organization
) -> None:
    unused = self_signed(acme, name="Unused")

    page = alice_client.get(_url("certificate-replace", unused))

    assertContains(page, "Nothing uses this certificate")
    with pytest.raises(ValidationError, match="Nothing uses Unused"):
        replace.replace_certificate(org=acme, old=unused, acting_user=None)


def test_renew_self_signed_creates_a_twin_and_moves_every_use(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    page = alice_client.get(_url("certificate-renew", old))
    name = replace.renewal_name(old)

    response = alice_client.post(
        _url("certificate-renew", old), {"label": old.label, "unique_name": name}, follow=True
    )

    assertContains(page, f'value="{name}"')
    assertContains(response, f"Renewed Old_Signing as {name}; 3 uses switched to it.")
    new = Certificate.objects.get(unique_name=name)
    assert (new.key_type, new.exportable, new.kind) == (old.key_type, old.exportable, old.kind)
    assert usage.uses_of(old) == []
    assert AuditEvent.objects.filter(action="renewedCert").exists()


def test_renew_ca_signed_creates_a_new_request_and_leaves_uses_until_it_is_signed(
    acme: Organization, openssl_ca: object
) -> None:
    from certadmin.services import certificates

    original = ca_signed(acme, name="Web_Server", key_type="RSA-2048")
    leaf = openssl_ca.sign(original.csr_pem)  # type: ignore[attr-defined]
    certificates.upload_signed_certificate(certificate=original, data=leaf, acting_user=None)
    make_config(acme, "Okta", signer=original)

    result = replace.renew_certificate(
        certificate=original, label="Web Server", unique_name="Web_Server_2027", acting_user=None
    )

    assert result.certificate.is_awaiting_signature
    assert result.certificate.subject_fields == original.subject_fields
    assert result.moved == []
    assert len(usage.uses_of(original)) == 1


def test_renewal_names_replace_an_earlier_date_and_stay_unique(acme: Organization) -> None:
    first = self_signed(acme, name="Payments_01Jan2025")
    now = timezone.now()

    name = replace.renewal_name(first, now=now)
    self_signed(acme, name=name)
    again = replace.renewal_name(first, now=now)

    assert name == f"Payments_{sso.day_label(acme.local(now))}"
    assert again == f"{name}_2"


def test_renewing_a_certificate_awaiting_its_chain_is_refused(
    alice_client: Client, acme: Organization
) -> None:
    awaiting = ca_signed(acme)

    response = alice_client.get(_url("certificate-renew", awaiting), follow=True)

    assertContains(response, "Upload the signed certificate first")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("certificate-replace", {"certificate": "not-a-uuid"}),
        ("certificate-replace", {"certificate": "00000000-0000-0000-0000-000000000000"}),
        ("certificate-renew", {"label": "", "unique_name": "9 bad__"}),
        ("certificate-renew", {"label": "Old", "unique_name": "Other"}),  # taken
    ],
)
def test_bad_input_is_a_400_not_a_500(
    alice_client: Client, old: Certificate, name: str, data: dict[str, str]
) -> None:
    response = alice_client.post(_url(name, old), data)

    assert response.status_code == 400
    assert len(usage.uses_of(old)) == 3


def test_renew_offers_a_label_that_tells_the_renewal_apart(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    """Issue 15: pickers showed two identical labels after a Renew."""
    today = timezone.now().astimezone(acme.tzinfo).date().isoformat()

    page = alice_client.get(_url("certificate-renew", old))

    assertContains(page, f'value="{old.label} (renewed {today})"')


def test_renewal_labels_keep_within_the_maximum_and_replace_an_earlier_suffix(
    acme: Organization,
) -> None:
    now = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # already the 8th in Auckland
    acme.time_zone = "Pacific/Auckland"
    acme.save()
    long = self_signed(acme, name="Long")
    Certificate.objects.filter(pk=long.pk).update(label="L" * naming.MAX_LABEL)
    long.refresh_from_db()
    renewed = self_signed(acme, name="Renewed")
    Certificate.objects.filter(pk=renewed.pk).update(label="Payments (renewed 2025-01-02)")
    renewed.refresh_from_db()

    long_label = replace.renewal_label(long, now=now)

    assert long_label == "L" * (naming.MAX_LABEL - 21) + " (renewed 2026-12-08)"
    assert len(long_label) == naming.MAX_LABEL
    assert replace.renewal_label(renewed, now=now) == "Payments (renewed 2026-12-08)"


def test_switching_the_identity_provider_names_it_once(
    alice_client: Client, acme: Organization, old: Certificate
) -> None:
    replace.replace_certificate(org=acme, old=old, acting_user=None)

    messages = AuditEvent.objects.filter(action="switchedCertUse").values_list("message", flat=True)
    assert any(m.startswith("Switched Identity Provider from Old_Signing") for m in messages)
    assert not any("Identity Provider Identity Provider" in m for m in messages)
