"""ACME orders: "Get from ACME" for a new certificate, for an existing CSR, and renewals.

An order is stored first (AcmeOrder, "Queued") and the page's orders are enqueued for the
django-q2 worker (services/acme/runs.py: claims, steps, deadlines). The worker works it
through: order at the CA, its challenges (http-01 rows the challenge view serves, or dns-01
TXT records), finalize, download the chain. The challenge rows are committed before the CA is
told, because the CA fetches them through another request. The certificate is written only
once the chain is in hand, in one transaction with its renewal settings, the order's outcome
and the audit line (services/acme/issued.py); a failure leaves the order "Failed" with the
CA's words and nothing else.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from acme import client as acme_lib
from acme import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from certadmin import acme_client
from certadmin.crypto import display, keypairs, parsing
from certadmin.models import AcmeAccount, AcmeCertificate, AcmeChallenge, AcmeOrder, Certificate
from certadmin.models.acme import Challenge
from certadmin.services import certificates
from certadmin.services.acme import dns, issued, runs
from certadmin.services.acme.accounts import SECTION, client_for
from keys import envelope
from orgs.models import Organization
from orgs.services.audit import record_audit

log = logging.getLogger(__name__)
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


@transaction.atomic
def _create_order(order: AcmeOrder, key: keypairs.PrivateKey | None, *, enqueue: bool) -> AcmeOrder:
    if key is not None:
        order.private_key = envelope.seal(
            keypairs.private_key_to_der(key), purpose=issued.ORDER_KEY_PURPOSE
        )
        order.csr_pem = acme_client.make_csr(key, order.domains).decode()
    runs.queued_fields(order, timezone.now())
    order.save(force_insert=True)
    if enqueue:
        runs.enqueue(order)
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
    enqueue: bool = True,
) -> AcmeOrder:
    """Store an order for a new CA-signed certificate (its key generated now, sealed) and
    enqueue it for the background worker (unless `enqueue` is False: the caller runs it)."""
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
    return _create_order(order, keypairs.generate_private_key(key_type), enqueue=enqueue)


def start_for_csr(
    *,
    certificate: Certificate,
    account: AcmeAccount,
    challenge: str = Challenge.HTTP_01,
    acting_user: User | None,
    enqueue: bool = True,
) -> AcmeOrder:
    """Store an order fulfilling a CA-signed certificate's own CSR (its key never leaves), and
    enqueue it as start_new_certificate does."""
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
    return _create_order(order, None, enqueue=enqueue)


def start_renewal(*, acme_cert: AcmeCertificate) -> AcmeOrder:
    """Store the order renewing `acme_cert`'s certificate: a new key unless it keeps its key.
    The renewal job runs it at once (it is the background worker)."""
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
    return _create_order(order, key, enqueue=False)


# --- working an order through ------------------------------------------------------------------


@dataclass
class _Work:
    acme: acme_lib.ClientV2
    resource: messages.OrderResource
    todo: list[acme_client.ChallengeToAnswer]


def _records(todo: Sequence[acme_client.ChallengeToAnswer]) -> list[tuple[str, str]]:
    return [(item.txt_name, item.validation) for item in todo]


def run_queued_order(order_id: int) -> str:
    """The background task: run (or resume) one queued order; a summary for the django-q2
    admin. The order's page shows the outcome; a failure is not the task's error."""
    order = (
        AcmeOrder.objects.select_related("organization", "account", "certificate", "created_by")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return f"ACME order {order_id} no longer exists."
    try:
        run_order(order)
    except runs.NotClaimed as exc:
        return str(exc)
    except acme_client.AcmeProblem as problem:
        return f"Order {order.uuid} failed: {problem.words}"
    if order.result is None:
        return f"Order {order.uuid} waits for its TXT records."
    return f"Order {order.uuid} issued {order.result.unique_name}."


def run_order(order: AcmeOrder, *, now: datetime | None = None) -> AcmeOrder:
    """Claim the order and work it through at the CA; a manual dns-01 order stops at "Waiting
    for the TXT records", and one whose records were checked resumes where it stopped.

    Raise runs.NotClaimed when it is finished or another worker has it, and AcmeProblem (the
    order then "Failed") when anything fails."""
    token = runs.claim(order)
    try:
        acme = client_for(order.account)
        if order.challenge == Challenge.DNS_01_MANUAL and order.order_json:
            resource = acme_client.order_from_json(order.order_json)
            work = _Work(
                acme, resource, acme_client.challenges_of(acme, resource, acme_client.DNS_01)
            )
            return _complete(order, work, token, now=now)
        AcmeChallenge.objects.filter(order=order).delete()  # a stopped run's, if any
        resource = acme_client.new_order(acme, order.csr_pem.encode())
        kind = acme_client.HTTP_01 if order.challenge == Challenge.HTTP_01 else acme_client.DNS_01
        work = _Work(acme, resource, acme_client.challenges_of(acme, resource, kind))
        _save_challenges(order, work)
        if order.challenge == Challenge.DNS_01_MANUAL and work.todo:
            order_json = acme_client.order_to_json(resource)
            runs.advance(order, token, AcmeOrder.Status.AWAITING_DNS, order_json=order_json)
            return order
        return _complete(order, work, token, now=now)
    except runs.LostClaim as exc:
        raise _taken_over(order) from exc
    except acme_client.AcmeProblem as problem:
        if not runs.give_up(order, token, words=problem.words, code=problem.code):
            raise _taken_over(order) from problem
        raise
    except Exception as exc:
        log.exception("ACME order %s stopped by an error", order.uuid)
        words = f"An internal error stopped the order ({type(exc).__name__})."
        if not runs.give_up(order, token, words=words, code="internal"):
            raise _taken_over(order) from exc
        raise


def _taken_over(order: AcmeOrder) -> runs.NotClaimed:
    """This worker was given up as stopped and another took the order: it writes nothing."""
    order.refresh_from_db()
    return runs.NotClaimed(f"Order {order.uuid} was taken over by another worker.")


def continue_order(*, order: AcmeOrder, acting_user: User | None) -> AcmeOrder:
    """The manual dns-01 step: check the TXT records, then queue the order for the worker,
    which lets the CA validate and finishes. ValidationError while a record is missing (the
    order stays as it is)."""
    if order.status != AcmeOrder.Status.AWAITING_DNS:
        raise ValidationError("This order is not waiting for TXT records.")
    records = [(c.txt_name, c.validation) for c in order.challenges.all()]
    missing = dns.missing(records)
    if missing:
        raise ValidationError(
            "Not yet: " + "; ".join(missing) + ". DNS changes can take a few minutes."
        )
    fields = runs.queued_fields(order, timezone.now())
    # Conditional: a second click (or another admin) queues it once.
    queued = AcmeOrder.objects.filter(pk=order.pk, status=AcmeOrder.Status.AWAITING_DNS).update(
        **{name: getattr(order, name) for name in fields}
    )
    if queued:
        runs.enqueue(order)
    return order


@transaction.atomic
def retry_order(*, order: AcmeOrder, acting_user: User | None) -> AcmeOrder:
    """Try again: queue a failed or stopped order for the worker (from the start at the CA,
    except a manual dns-01 order stopped after its records were checked, which resumes)."""
    locked = AcmeOrder.objects.select_for_update().get(pk=order.pk)
    if not locked.can_retry():
        raise ValidationError(
            f"This order is {locked.get_status_display().lower()}: there is nothing to retry."
        )
    if locked.status == AcmeOrder.Status.FAILED:
        locked.order_json = ""
    fields = runs.queued_fields(locked, timezone.now())
    locked.save(update_fields=[*fields, "order_json"])
    runs.enqueue(locked)
    log.info("ACME order %s queued again by %s", locked.uuid, getattr(acting_user, "pk", None))
    return locked


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


def _complete(order: AcmeOrder, work: _Work, token: str, *, now: datetime | None) -> AcmeOrder:
    runs.advance(order, token, AcmeOrder.Status.VALIDATING)
    rfc2136 = order.challenge == Challenge.DNS_01_RFC2136 and bool(work.todo)
    if rfc2136:
        dns.publish(order.account, _records(work.todo))
    try:
        acme_client.answer(work.acme, work.todo)
        chain = acme_client.finish(
            work.acme,
            work.resource,
            on_validated=lambda: runs.advance(order, token, AcmeOrder.Status.FINALIZING),
        )
    finally:
        if rfc2136:
            try:
                dns.withdraw(order.account, _records(work.todo))
            except acme_client.AcmeProblem:
                log.warning("could not remove the dns-01 TXT records of order %s", order.uuid)
    issued.store(order, chain, now=now or timezone.now(), token=token)
    return order


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
