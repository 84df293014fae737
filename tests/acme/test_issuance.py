"""Get from ACME against pebble: a new certificate, an existing CSR, http-01 served by
certadmin itself, dns-01 by hand and through RFC 2136; the chain verified with openssl."""

import base64
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from certadmin import acme_client
from certadmin.crypto import display, keypairs, parsing
from certadmin.models import AcmeAccount, AcmeChallenge, AcmeOrder, Certificate
from certadmin.services import certificates
from certadmin.services.acme import accounts, orders
from orgs.models import AuditEvent, Organization
from tests.acme.conftest import verify_with_openssl
from tests.acme_peers import Pebble, Rfc2136Server


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
        enqueue=False,
    )

    orders.run_order(order)

    certificate = Certificate.objects.get(unique_name="Web")
    assert order.status == AcmeOrder.Status.ISSUED
    assert order.result == certificate
    assert certificate.kind == Certificate.Kind.CA_SIGNED
    assert certificate.not_after is not None
    assert "OK" in verify_with_openssl(certificate.chain_pem, pebble.issuing_roots(), tmp_path)
    # The key is the certificate's own, sealed; the order keeps none, the challenges are gone.
    leaf = parsing.parse_certificates(certificate.chain_pem.encode())[0]
    assert keypairs.private_key_matches_certificate(
        certificates.load_private_key(certificate), leaf
    )
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
    order = orders.start_for_csr(
        certificate=pending, account=account, acting_user=None, enqueue=False
    )

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
        enqueue=False,
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
        enqueue=False,
    )
    AcmeChallenge.objects.create(order=order, domain="x.acme.test", token="tok", validation="v")

    assert client.get("/.well-known/acme-challenge/tok").content == b"v"
    order.status = AcmeOrder.Status.FAILED
    order.save()
    assert client.get("/.well-known/acme-challenge/tok").status_code == 404
    assert client.get("/.well-known/acme-challenge/unknown").status_code == 404


def test_get_from_acme_page_queues_the_order_and_its_page_shows_it_issued(
    client: Client, alice: User, account: AcmeAccount, acme: Organization
) -> None:
    """The form stores the order and leaves at once for its page; the worker (inline in the
    tests, Q_CLUSTER sync) has issued it by the time the page is opened."""
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
    )

    order = AcmeOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    page = client.get(response["Location"]).content.decode()
    certificate = Certificate.objects.get(unique_name="Portal")
    assert "Issued: the CA issued Portal." in page
    assert f'href="{certificate.get_absolute_url()}"' in page
    assert 'data-running="0"' in page  # done: the page stops following it


TSIG_SECRET = base64.b64encode(b"certadmin test tsig key 32 bytes").decode()


def _dns_order(account: AcmeAccount, acme: Organization, name: str) -> AcmeOrder:
    return orders.start_new_certificate(
        org=acme,
        account=account,
        label=name,
        unique_name=name,
        domains=[f"{name.lower()}.acme.test"],
        challenge="dns-01",
        acting_user=None,
        enqueue=False,
    )


def _send_updates_to(server: Rfc2136Server, account: AcmeAccount, tsig_secret: str) -> None:
    """Point the account's dns-01 updates at the test's RFC 2136 server, signed with
    `tsig_secret` (the server accepts TSIG_SECRET only)."""
    accounts.update_dns_settings(
        account=account,
        dns_server="127.0.0.1",
        dns_port=server.port,
        dns_zone="acme.test.",
        tsig_key_name="certadmin.",
        tsig_algorithm="hmac-sha256",
        tsig_secret=tsig_secret,
        acting_user=None,
    )


def test_dns_01_through_rfc_2136_with_a_tsig_signed_update(
    account: AcmeAccount, acme: Organization, pebble: Pebble
) -> None:
    with Rfc2136Server(pebble, "certadmin.", TSIG_SECRET) as server:
        _send_updates_to(server, account, TSIG_SECRET)
        order = _dns_order(account, acme, "Dyn")

        orders.run_order(order)

    assert order.status == AcmeOrder.Status.ISSUED
    assert [(op, name) for op, name, _ in server.updates] == [
        ("add", "_acme-challenge.dyn.acme.test."),
        ("delete", "_acme-challenge.dyn.acme.test."),
    ]
    assert TSIG_SECRET.encode() not in bytes(AcmeAccount.objects.get().tsig_secret or b"")


def test_dns_update_with_a_wrong_tsig_key_fails_the_order_in_words(
    account: AcmeAccount, acme: Organization, pebble: Pebble
) -> None:
    with Rfc2136Server(pebble, "certadmin.", TSIG_SECRET) as server:
        _send_updates_to(
            server, account, base64.b64encode(b"a different key, also 32 bytes!!").decode()
        )
        order = _dns_order(account, acme, "Bad")

        with pytest.raises(acme_client.AcmeProblem, match="DNS update server"):
            orders.run_order(order)

    assert server.refused >= 1
    assert not Certificate.objects.exists()


def test_revoked_at_the_ca_from_the_delete_page(
    client: Client, alice: User, account: AcmeAccount, acme: Organization
) -> None:
    order = orders.start_new_certificate(
        org=acme,
        account=account,
        label="Old",
        unique_name="Old",
        domains=["old.acme.test"],
        acting_user=None,
        enqueue=False,
    )
    orders.run_order(order)
    certificate = Certificate.objects.get()
    client.force_login(alice)
    url = f"/o/{acme.public_id}/setup/certificates/{certificate.uuid}/delete/"
    assert b"Revoke it at the CA first" in client.get(url).content

    client.post(url, {"revoke": "on", "reason": "4"})

    assert not Certificate.objects.exists()
    assert AuditEvent.objects.filter(action="revokedCert").count() == 1
    # pebble saw it: revoking again is refused as already revoked.
    with pytest.raises(acme_client.AcmeProblem, match="alreadyRevoked"):
        acme_client.revoke(
            accounts.client_for(account),
            display.certificate_pem(
                parsing.parse_certificates(certificate.chain_pem.encode())[0]
            ).encode(),
            4,
        )
