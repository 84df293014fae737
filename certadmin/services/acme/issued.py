"""Writing what an ACME order produced: the certificate (new, the CSR's, or the renewal that
replaces its predecessor), its renewal settings, the order's outcome and the audit line, all
in one transaction that first checks the order is still this worker's (services/acme/runs.py).
"""

from datetime import datetime

from cryptography import x509
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from certadmin import acme_client, usage
from certadmin.crypto import chains, keypairs, parsing
from certadmin.models import AcmeCertificate, AcmeOrder, Certificate
from certadmin.models.acme import Challenge
from certadmin.services import certificates, replace
from certadmin.services.acme import runs
from certadmin.services.acme.accounts import SECTION
from keys import envelope
from orgs.services.audit import record_audit
from orgs.wording import count

ORDER_KEY_PURPOSE = "certadmin.AcmeOrder.private_key"


def open_order_key(order: AcmeOrder) -> keypairs.PrivateKey:
    assert order.private_key is not None
    der = envelope.open_sealed(bytes(order.private_key), purpose=ORDER_KEY_PURPOSE)
    return keypairs.load_private_key_der(der, trusted=True)


def _checked_chain(key: keypairs.PrivateKey, fullchain: str) -> list[x509.Certificate]:
    """The CA's chain, leaf first, with the same checks as an uploaded signed certificate."""
    try:
        certs = parsing.parse_certificates(
            fullchain.encode(), max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES
        )
        leaf = chains.find_leaf_for_key(certs, key.public_key())
        if leaf is None:
            raise ValueError("the certificate does not match the order's key")
        return chains.order_chain(leaf, certs)
    except ValueError as exc:
        raise acme_client.AcmeProblem(
            f"The CA's certificate was refused: {exc}.", code="chain", retry=False
        ) from exc


def store(order: AcmeOrder, fullchain: str, *, now: datetime, token: str) -> Certificate:
    """Write what the order produced, all in one transaction, if the order is still claimed
    by `token` (else runs.LostClaim, and nothing is written)."""
    if order.purpose == AcmeOrder.Purpose.CSR:
        assert order.certificate is not None
        with transaction.atomic():
            runs.hold(order, token)
            try:
                certificates.upload_signed_certificate(
                    certificate=order.certificate,
                    data=fullchain.encode(),
                    acting_user=order.created_by,
                    now=now,
                )
            except ValidationError as exc:
                raise acme_client.AcmeProblem(
                    "The CA's certificate was refused: " + " ".join(exc.messages),
                    code="chain",
                    retry=False,
                ) from exc
            certificate = order.certificate
            _track(order, certificate)
            _finish_order(order, certificate, now)
        return certificate
    key = open_order_key(order)
    chain = _checked_chain(key, fullchain)
    sealed = envelope.seal(
        keypairs.private_key_to_der(key), purpose=certificates.PRIVATE_KEY_PURPOSE
    )
    with transaction.atomic():
        runs.hold(order, token)
        if order.purpose == AcmeOrder.Purpose.RENEWAL:
            certificate = _store_renewal(order, chain, sealed, now)
        else:
            certificate = _store_new(order, chain, sealed, now)
        _finish_order(order, certificate, now)
    return certificate


def _new_certificate(
    order: AcmeOrder, chain: list[x509.Certificate], sealed: bytes, *, label: str, name: str
) -> Certificate:
    certificate = Certificate(
        organization=order.organization,
        label=label,
        unique_name=name,
        kind=Certificate.Kind.CA_SIGNED,
        key_type=order.key_type,
        exportable=order.exportable,
        private_key=sealed,
        subject_fields={"common_name": order.domains[0]},
        csr_pem=order.csr_pem,
        created_by=order.created_by,
        modified_by=order.created_by,
    )
    certificate.apply_chain(chain)
    try:
        with transaction.atomic():
            certificate.save(force_insert=True)
    except IntegrityError as exc:
        raise acme_client.AcmeProblem(
            f"A certificate with the Unique Name {name} already exists.", code="name", retry=False
        ) from exc
    return certificate


def _store_new(
    order: AcmeOrder, chain: list[x509.Certificate], sealed: bytes, now: datetime
) -> Certificate:
    try:
        Certificate.check_names(
            org=order.organization, label=order.label, unique_name=order.unique_name
        )
    except ValidationError as exc:
        raise acme_client.AcmeProblem(" ".join(exc.messages), code="name", retry=False) from exc
    certificate = _new_certificate(order, chain, sealed, label=order.label, name=order.unique_name)
    _track(order, certificate)
    record_audit(
        org=order.organization,
        acting_user=order.created_by,
        section=SECTION,
        action="obtainedAcmeCert",
        message=f"Obtained certificate {certificate.unique_name} from ACME account "
        f"{order.account.label} for {', '.join(order.domains)} "
        f"(expires {certificate.not_after:%Y-%m-%d})",
    )
    return certificate


def _store_renewal(
    order: AcmeOrder, chain: list[x509.Certificate], sealed: bytes, now: datetime
) -> Certificate:
    old = order.certificate
    assert old is not None
    tracked = AcmeCertificate.objects.select_for_update().get(certificate=old)
    new = _new_certificate(
        order, chain, sealed, label=old.label, name=replace.renewal_name(old, now=now)
    )
    moved: list[usage.Use] = []
    if usage.uses_of(old):
        moved = replace.replace_certificate(
            org=order.organization, old=old, new=new, acting_user=None, now=now
        ).moved
    else:
        old.replaced_by, old.replaced_at = new, now
        old.save(update_fields=["replaced_by", "replaced_at"])
    tracked.certificate = new
    tracked.failures, tracked.last_error = 0, ""
    tracked.failing_since = tracked.next_attempt_at = None
    tracked.last_renewed_at = now
    assert new.not_before is not None
    assert new.not_after is not None
    tracked.plan(new.not_before, new.not_after)
    tracked.save()
    record_audit(
        org=order.organization,
        acting_user=None,
        section=SECTION,
        action="renewedAcmeCert",
        message=f"Renewed certificate {old.unique_name} from ACME as {new.unique_name} "
        f"(expires {new.not_after:%Y-%m-%d})"
        + (f"; {count(len(moved), 'use', 'uses')} switched" if moved else ""),
    )
    return new


def _track(order: AcmeOrder, certificate: Certificate) -> None:
    """Create or update the renewal settings of a certificate obtained from ACME."""
    assert certificate.not_before is not None
    assert certificate.not_after is not None
    tracked = AcmeCertificate.objects.filter(certificate=certificate).first() or AcmeCertificate(
        organization=order.organization, certificate=certificate
    )
    tracked.account, tracked.domains, tracked.challenge = (
        order.account,
        list(order.domains),
        order.challenge,
    )
    # A renewal cannot wait for a person: a manual dns-01 certificate is renewed by hand.
    tracked.auto_renew = order.challenge != Challenge.DNS_01_MANUAL and tracked.auto_renew
    tracked.plan(certificate.not_before, certificate.not_after)
    tracked.save()


def _finish_order(order: AcmeOrder, certificate: Certificate, now: datetime) -> None:
    order.challenges.all().delete()
    order.status, order.result, order.error = AcmeOrder.Status.ISSUED, certificate, ""
    order.finished_at, order.claimed_by, order.deadline = now, "", None
    order.private_key = None  # the key now lives (sealed) with the certificate only
    order.save(
        update_fields=[
            "status",
            "result",
            "error",
            "finished_at",
            "claimed_by",
            "deadline",
            "private_key",
        ]
    )
