"""ACME orders: "Get from ACME" for a new certificate, for an existing CSR, and renewals.

An order is stored first (AcmeOrder), then worked through: order at the CA, its challenges
(http-01 rows the challenge view serves, or dns-01 TXT records), finalize, download the chain.
The challenge rows are committed before the CA is told, because the CA fetches them through
another request. The certificate is written only once the chain is in hand, in one
transaction with its renewal settings, the order's outcome and the audit line; a failure
leaves the order "Failed" with the CA's words and nothing else.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from acme import client as acme_lib
from acme import messages
from cryptography import x509
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from certadmin import acme_client, usage
from certadmin.crypto import chains, display, keypairs, parsing
from certadmin.models import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder, Certificate
from certadmin.models.acme import Challenge
from certadmin.services import certificates, replace
from certadmin.services.acme import dns
from certadmin.services.acme.accounts import SECTION, client_for
from keys import envelope
from orgs.models import Organization
from orgs.services.audit import record_audit
from orgs.wording import count

log = logging.getLogger(__name__)
ORDER_KEY_PURPOSE = "certadmin.AcmeOrder.private_key"
MAX_DOMAINS = 100
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"^(?:\*\.)?(?:{_LABEL}\.)+{_LABEL}$")


def parse_domains(text: str | Sequence[str], *, challenge: str) -> list[str]:
    """The names of an order, lowercased and unique, in the order given; ValidationError names
    the ones no CA would take."""
    items = re.split(r"[\s,]+", text) if isinstance(text, str) else list(text)
    domains = list(dict.fromkeys(d.strip().lower().rstrip(".") for d in items if d.strip()))
    if not domains:
        raise ValidationError({"domains": ["Enter at least one domain name."]})
    if len(domains) > MAX_DOMAINS:
        raise ValidationError({"domains": [f"At most {MAX_DOMAINS} names in one certificate."]})
    bad = [d for d in domains if len(d) > 253 or not _DOMAIN.match(d)]
    if bad:
        shown = ", ".join(repr(d[:60]) for d in bad[:5])
        raise ValidationError({"domains": [f"Not a domain name: {shown}."]})
    if challenge == Challenge.HTTP_01 and any(d.startswith("*.") for d in domains):
        raise ValidationError(
            {"domains": ["Wildcard names can only be validated with a dns-01 challenge."]}
        )
    return domains


def _usable_account(account: AcmeAccount, org: Organization) -> None:
    if account.organization_id != org.pk:
        raise ValidationError("That ACME account belongs to another org.")
    if not account.is_usable:
        raise ValidationError(
            f"The ACME account {account.label} is {account.get_status_display().lower()}: "
            "register it first."
        )


def _open_order_key(order: AcmeOrder) -> keypairs.PrivateKey:
    assert order.private_key is not None
    der = envelope.open_sealed(bytes(order.private_key), purpose=ORDER_KEY_PURPOSE)
    return keypairs.load_private_key_der(der, trusted=True)


@transaction.atomic
def _create_order(order: AcmeOrder, key: keypairs.PrivateKey | None) -> AcmeOrder:
    if key is not None:
        order.private_key = envelope.seal(
            keypairs.private_key_to_der(key), purpose=ORDER_KEY_PURPOSE
        )
        order.csr_pem = acme_client.make_csr(key, order.domains).decode()
    order.save(force_insert=True)
    return order


def start_new_certificate(
    *,
    org: Organization,
    account: AcmeAccount,
    label: str,
    unique_name: str,
    domains: Sequence[str],
    key_type: str = "EC-P256",
    exportable: bool = True,
    challenge: str = Challenge.HTTP_01,
    acting_user: User | None,
) -> AcmeOrder:
    """Store an order for a new CA-signed certificate (its key generated now, sealed)."""
    Certificate.check_names(org=org, label=label, unique_name=unique_name)
    if key_type not in keypairs.KEY_TYPES:
        raise ValidationError(
            {"key_type": ["Choose RSA 2048, 3072 or 4096, or ECDSA P-256/P-384."]}
        )
    names = parse_domains(domains, challenge=challenge)
    _usable_account(account, org)
    order = AcmeOrder(
        organization=org,
        account=account,
        purpose=AcmeOrder.Purpose.NEW,
        label=label,
        unique_name=unique_name,
        domains=names,
        key_type=key_type,
        exportable=exportable,
        challenge=challenge,
        created_by=acting_user,
    )
    return _create_order(order, keypairs.generate_private_key(key_type))


def start_for_csr(
    *,
    certificate: Certificate,
    account: AcmeAccount,
    challenge: str = Challenge.HTTP_01,
    acting_user: User | None,
) -> AcmeOrder:
    """Store an order fulfilling a CA-signed certificate's own CSR (its key never leaves)."""
    if certificate.kind != Certificate.Kind.CA_SIGNED or not certificate.csr_pem:
        raise ValidationError(
            f"{certificate.unique_name} is self-signed: only a CA-signed certificate's request "
            "can be sent to an ACME CA."
        )
    _usable_account(account, certificate.organization)
    names = acme_client.identifiers_of_csr(certificate.csr_pem.encode())
    domains = parse_domains(names, challenge=challenge) if names else []
    if not domains:
        raise ValidationError("The certificate signing request names no domain.")
    csr_pem = certificate.csr_pem
    if not acme_client.has_subject_alt_names(csr_pem.encode()):
        # CAs take the names from subjectAltName (RFC 8555 7.4; pebble and Let's Encrypt
        # refuse a Common-Name-only request), which certadmin's CSRs lacked: the same key
        # signs a request for the same names that has it.
        key = certificates.load_private_key(certificate)
        csr_pem = acme_client.make_csr(key, domains).decode()
    order = AcmeOrder(
        organization=certificate.organization,
        account=account,
        purpose=AcmeOrder.Purpose.CSR,
        certificate=certificate,
        label=certificate.label,
        unique_name=certificate.unique_name,
        domains=domains,
        key_type=certificate.key_type,
        challenge=challenge,
        csr_pem=csr_pem,
        created_by=acting_user,
    )
    return _create_order(order, None)


def start_renewal(*, acme_cert: AcmeCertificate) -> AcmeOrder:
    """Store the order renewing `acme_cert`'s certificate: a new key unless it keeps its key."""
    old = acme_cert.certificate
    order = AcmeOrder(
        organization=acme_cert.organization,
        account=acme_cert.account,
        purpose=AcmeOrder.Purpose.RENEWAL,
        certificate=old,
        label=old.label,
        unique_name=old.unique_name,
        domains=list(acme_cert.domains),
        key_type=old.key_type,
        exportable=old.exportable,
        challenge=acme_cert.challenge,
    )
    key = (
        keypairs.generate_private_key(old.key_type)
        if acme_cert.new_key
        else certificates.load_private_key(old)
    )
    return _create_order(order, key)


# --- working an order through ------------------------------------------------------------------


@dataclass
class _Work:
    acme: acme_lib.ClientV2
    resource: messages.OrderResource
    todo: list[acme_client.ChallengeToAnswer]


def _records(todo: Sequence[acme_client.ChallengeToAnswer]) -> list[tuple[str, str]]:
    return [(item.txt_name, item.validation) for item in todo]


def run_order(order: AcmeOrder, *, now: datetime | None = None) -> AcmeOrder:
    """Order at the CA and answer the challenges; a manual dns-01 order stops at "Waiting for
    the TXT records". Raise AcmeProblem (the order then "Failed") when anything fails."""
    try:
        acme = client_for(order.account)
        resource = acme_client.new_order(acme, order.csr_pem.encode())
        kind = acme_client.HTTP_01 if order.challenge == Challenge.HTTP_01 else acme_client.DNS_01
        work = _Work(acme, resource, acme_client.challenges_of(acme, resource, kind))
        _save_challenges(order, work)
        if order.challenge == Challenge.DNS_01_MANUAL and work.todo:
            order.status = AcmeOrder.Status.AWAITING_DNS
            order.order_json = acme_client.order_to_json(resource)
            order.save(update_fields=["status", "order_json"])
            return order
        return _complete(order, work, now=now)
    except acme_client.AcmeProblem as problem:
        _fail(order, problem)
        raise


def continue_order(*, order: AcmeOrder, acting_user: User | None) -> AcmeOrder:
    """The manual dns-01 step: check the TXT records, then let the CA validate and finish.
    ValidationError while a record is missing (the order stays open); AcmeProblem when the
    CA fails the order."""
    if order.status != AcmeOrder.Status.AWAITING_DNS:
        raise ValidationError("This order is not waiting for TXT records.")
    challenges = list(order.challenges.all())
    records = [(c.txt_name, c.validation) for c in challenges]
    missing = dns.missing(records)
    if missing:
        raise ValidationError(
            "Not yet: " + "; ".join(missing) + ". DNS changes can take a few minutes."
        )
    try:
        acme = client_for(order.account)
        resource = acme_client.order_from_json(order.order_json)
        kind = acme_client.DNS_01
        work = _Work(acme, resource, acme_client.challenges_of(acme, resource, kind))
        return _complete(order, work, now=None)
    except acme_client.AcmeProblem as problem:
        _fail(order, problem)
        raise


def _save_challenges(order: AcmeOrder, work: _Work) -> None:
    # Committed at once (autocommit): the CA fetches http-01 answers through another request.
    AcmeChallenge.objects.bulk_create(
        AcmeChallenge(
            order=order,
            domain=item.domain,
            token=item.token,
            validation=item.validation,
            txt_name=item.txt_name,
        )
        for item in work.todo
    )


def _complete(order: AcmeOrder, work: _Work, *, now: datetime | None) -> AcmeOrder:
    rfc2136 = order.challenge == Challenge.DNS_01_RFC2136 and bool(work.todo)
    if rfc2136:
        dns.publish(order.account, _records(work.todo))
    try:
        acme_client.answer(work.acme, work.todo)
        chain = acme_client.finish(work.acme, work.resource)
    finally:
        if rfc2136:
            try:
                dns.withdraw(order.account, _records(work.todo))
            except acme_client.AcmeProblem:
                log.warning("could not remove the dns-01 TXT records of order %s", order.uuid)
    store(order, chain, now=now or timezone.now())
    return order


def _fail(order: AcmeOrder, problem: acme_client.AcmeProblem) -> None:
    with transaction.atomic():
        order.challenges.all().delete()
        order.status, order.error = AcmeOrder.Status.FAILED, problem.words
        order.finished_at = timezone.now()
        order.save(update_fields=["status", "error", "finished_at"])


# --- storing what the CA issued -----------------------------------------------------------------


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


def store(order: AcmeOrder, fullchain: str, *, now: datetime) -> Certificate:
    """Write what the order produced, all in one transaction."""
    if order.purpose == AcmeOrder.Purpose.CSR:
        assert order.certificate is not None
        with transaction.atomic():
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
    key = _open_order_key(order)
    chain = _checked_chain(key, fullchain)
    sealed = envelope.seal(
        keypairs.private_key_to_der(key), purpose=certificates.PRIVATE_KEY_PURPOSE
    )
    with transaction.atomic():
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
    order.finished_at = now
    order.private_key = None  # the key now lives (sealed) with the certificate only
    order.save(update_fields=["status", "result", "error", "finished_at", "private_key"])


# --- revocation ----------------------------------------------------------------------------------


def revoke_certificate(
    *, certificate: Certificate, reason: int, acting_user: User | None, now: datetime | None = None
) -> None:
    """Revoke the certificate at the CA that issued it (through its ACME account)."""
    reasons = dict(acme_client.REVOCATION_REASONS)
    if reason not in reasons:
        raise ValidationError({"reason": ["Choose one of the listed reasons."]})
    tracked = AcmeCertificate.objects.filter(certificate=certificate).select_related("account")
    acme_cert = tracked.first()
    if acme_cert is None or not certificate.chain_pem:
        raise ValidationError(
            f"{certificate.unique_name} was not obtained from ACME: revoke it with its CA."
        )
    if acme_cert.revoked_at is not None:
        raise ValidationError(f"{certificate.unique_name} is already revoked.")
    leaf_pem = display.certificate_pem(
        parsing.parse_certificates(certificate.chain_pem.encode())[0]
    ).encode()
    try:
        acme_client.revoke(client_for(acme_cert.account), leaf_pem, reason)
    except acme_client.AcmeProblem as problem:
        raise ValidationError(problem.words) from problem
    with transaction.atomic():
        acme_cert.revoked_at, acme_cert.revocation_reason = now or timezone.now(), reason
        acme_cert.auto_renew = False
        acme_cert.save(update_fields=["revoked_at", "revocation_reason", "auto_renew"])
        record_audit(
            org=certificate.organization,
            acting_user=acting_user,
            section=SECTION,
            action="revokedCert",
            message=f"Revoked certificate {certificate.unique_name} at the CA "
            f"(reason: {reasons[reason]})",
        )
