"""Get from ACME against pebble: a new certificate, an existing CSR, http-01 served by
certadmin itself, dns-01 by hand and through RFC 2136; the chain verified with openssl."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certadmin import crypto
from certadmin.models import AcmeAccount, AcmeChallenge, AcmeOrder, Certificate
from certadmin.services import certificates
from certadmin.services.acme import orders
from orgs.models import AuditEvent, Organization
from tests.acme.conftest import verify_with_openssl
from tests.acme_peers import Pebble


def test_new_certificate_over_http_01_verifies_against_pebbles_root(
    account: AcmeAccount, acme: Organization, pebble: Pebble, tmp_path: Path
) -> None:
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Web",
        unique_name="Web",
        domains=["www.acme.test", "acme.test"],
        acting_user=None,
    )

    orders.run_order(order)

    certificate = Certificate.objects.get(unique_name="Web")
    assert order.status == AcmeOrder.Status.ISSUED
    assert order.result == certificate
    assert certificate.kind == Certificate.Kind.CA_SIGNED
    assert certificate.not_after is not None
    assert "OK" in verify_with_openssl(certificate.chain_pem, pebble.issuing_roots(), tmp_path)
    # The key is the certificate's own, sealed; the order keeps none, the challenges are gone.
    leaf = crypto.parse_certificates(certificate.chain_pem.encode())[0]
    assert crypto.private_key_matches_certificate(certificates.load_private_key(certificate), leaf)
    assert order.private_key is None
    assert not AcmeChallenge.objects.exists()
    assert certificate.acme.domains == ["www.acme.test", "acme.test"]
    assert AuditEvent.objects.filter(action="obtainedAcmeCert").count() == 1


def test_fulfils_an_existing_csr_as_update_signed_certificate_does(
    account: AcmeAccount, acme: Organization
) -> None:
    pending = certificates.create_ca_signed(
        org=acme,
        label="Shop",
        unique_name="Shop",
        key_type="EC-P256",
        subject=certificates.SubjectFields(common_name="shop.acme.test"),
        acting_user=None,
    )
    order = orders.start_for_csr(certificate=pending, account=account, acting_user=None)

    orders.run_order(order)

    pending.refresh_from_db()
    assert not pending.is_awaiting_signature
    assert "shop.acme.test" in pending.subject
    assert AuditEvent.objects.filter(action="uploadedSignedCert").count() == 1


def test_manual_dns_01_checks_the_txt_record_before_telling_the_ca(
    account: AcmeAccount, acme: Organization, pebble: Pebble
) -> None:
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Wild",
        unique_name="Wild",
        domains=["*.acme.test"],
        challenge="dns-01-manual",
        acting_user=None,
    )
    orders.run_order(order)
    assert order.status == AcmeOrder.Status.AWAITING_DNS
    (challenge,) = order.challenges.all()
    assert challenge.txt_name == "_acme-challenge.acme.test"

    with pytest.raises(Exception, match="is not published yet"):
        orders.continue_order(order=order, acting_user=None)
    assert order.status == AcmeOrder.Status.AWAITING_DNS  # still open, nothing written
    pebble.set_txt(challenge.txt_name, challenge.validation)
    orders.continue_order(order=order, acting_user=None)

    pebble.clear_txt(challenge.txt_name)
    assert Certificate.objects.get(unique_name="Wild").acme.auto_renew is False


def test_challenge_path_serves_only_pending_tokens(
    client: Client, account: AcmeAccount, acme: Organization, acme_settings: object
) -> None:
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Later",
        unique_name="Later",
        domains=["later.acme.test"],
        challenge="dns-01-manual",
        acting_user=None,
    )
    AcmeChallenge.objects.create(order=order, domain="x.acme.test", token="tok", validation="v")

    assert client.get("/.well-known/acme-challenge/tok").content == b"v"
    order.status = AcmeOrder.Status.FAILED
    order.save()
    assert client.get("/.well-known/acme-challenge/tok").status_code == 404
    assert client.get("/.well-known/acme-challenge/unknown").status_code == 404


def test_get_from_acme_page_issues_and_lands_on_the_certificate(
    client: Client, alice: User, account: AcmeAccount, acme: Organization
) -> None:
    client.force_login(alice)
    url = f"/o/{acme.public_id}/setup/acme/new/"

    response = client.post(
        url,
        {
            "account": str(account.uuid),
            "label": "Portal",
            "unique_name": "Portal",
            "domains": "portal.acme.test",
            "key_type": "EC-P256",
            "exportable": "on",
            "challenge": "http-01",
        },
        follow=True,
    )

    certificate = Certificate.objects.get(unique_name="Portal")
    assert response.redirect_chain[-1][0] == certificate.get_absolute_url()
    assert b"The CA issued Portal." in response.content
    assert b"Renewal Settings" in response.content
