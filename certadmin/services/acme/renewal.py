"""Automatic renewal of certificates obtained from ACME (issue 18).

The schedule (certadmin/schedules.py) calls `renew_due` every hour: it plans in one query
(`plan_renewals`: due, automatic, not waiting out a back-off), then renews each certificate
through an order (services.acme.orders). A success switches every use in the same transaction
as the new certificate; a failure is counted, retried with back-off, written in words on the
certificate and Setup Home, and announced (`renewal_failed`, which notifications turns into an
email to the org's notification recipients, at most once a day per certificate).
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import django.dispatch
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from certadmin import acme_client
from certadmin.models import AcmeCertificate, AcmeOrder, Certificate
from certadmin.services.acme import orders, runs
from certadmin.services.acme.accounts import SECTION
from orgs import permissions, setup_tree
from orgs.http import OrgRequest
from orgs.models import Organization
from orgs.services.audit import record_audit
from orgs.wording import count

log = logging.getLogger(__name__)

# Sent after a failed renewal attempt that recipients should hear of:
# sender=AcmeCertificate, acme_cert=..., error="in words", next_attempt_at=datetime.
renewal_failed = django.dispatch.Signal()

FIRST_RETRY = timedelta(hours=1)
LONGEST_RETRY = timedelta(hours=24)
ALERT_EVERY = timedelta(hours=24)


def retry_delay(failures: int) -> timedelta:
    """1 h after the first failure, doubling, at most a day."""
    delay: timedelta = FIRST_RETRY * 2 ** max(failures - 1, 0)
    return min(delay, LONGEST_RETRY)


def plan_renewals(
    *, now: datetime | None = None, org: Organization | None = None
) -> dict[int, list[AcmeCertificate]]:
    """{org id: its certificates due for renewal}, in one query however many are due."""
    due = AcmeCertificate.objects.due(now=now or timezone.now())
    if org is not None:
        due = due.for_org(org)
    planned: dict[int, list[AcmeCertificate]] = defaultdict(list)
    for acme_cert in due.select_related("certificate", "account", "organization").order_by(
        "organization_id", "renew_after"
    ):
        planned[acme_cert.organization_id].append(acme_cert)
    return dict(planned)


@dataclass
class RenewalRun:
    renewed: list[str] = field(default_factory=list)  # "old -> new"
    failed: list[str] = field(default_factory=list)  # "name: error"
    planned: list[str] = field(default_factory=list)  # dry run: the names that are due

    def summary(self) -> str:
        if self.planned:
            return (
                f"{count(len(self.planned), 'certificate', 'certificates')} due for renewal: "
                + ", ".join(self.planned)
            )
        return f"renewed {len(self.renewed)}, failed {len(self.failed)}"


def renew_due(
    *, now: datetime | None = None, org: Organization | None = None, dry_run: bool = False
) -> RenewalRun:
    """Renew every certificate due (of `org`, or of every org); `dry_run` only lists them."""
    now = now or timezone.now()
    run = RenewalRun()
    for due in plan_renewals(now=now, org=org).values():
        for acme_cert in due:
            name = acme_cert.certificate.unique_name
            if dry_run:
                run.planned.append(f"{acme_cert.organization.name}: {name}")
                continue
            try:
                new = renew(acme_cert=acme_cert, now=now)
            except acme_client.AcmeProblem as problem:
                run.failed.append(f"{name}: {problem.words}")
            else:
                run.renewed.append(f"{name} -> {new.unique_name}")
    return run


def renew(*, acme_cert: AcmeCertificate, now: datetime | None = None) -> Certificate:
    """Renew one certificate now; on failure record it, schedule the retry, and re-raise."""
    now = now or timezone.now()
    return _run_renewal(orders.start_renewal(acme_cert=acme_cert), acme_cert, now)


def _run_renewal(order: AcmeOrder, acme_cert: AcmeCertificate, now: datetime) -> Certificate:
    try:
        orders.run_order(order, now=now)
    except acme_client.AcmeProblem as problem:
        record_failure(acme_cert=acme_cert, problem=problem, now=now)
        raise
    if order.result is None:  # a manual dns-01 renewal waits for the person (never automatic)
        raise acme_client.AcmeProblem("The renewal waits for its TXT records.", retry=False)
    return order.result


@transaction.atomic
def queue_renewal(*, acme_cert: AcmeCertificate, acting_user: User | None) -> AcmeOrder:
    """Renew Now: store the renewal's order and enqueue it for the background worker.
    ValidationError while another renewal of the certificate is under way."""
    running = [
        order
        for order in AcmeOrder.objects.filter(
            certificate_id=acme_cert.certificate_id,
            purpose=AcmeOrder.Purpose.RENEWAL,
            status__in=AcmeOrder.WORKING,
        )
        if order.is_running()
    ]
    if running:
        raise ValidationError(
            f"A renewal of {acme_cert.certificate.unique_name} is already under way."
        )
    order = orders.start_renewal(acme_cert=acme_cert)
    runs.enqueue(order, task="certadmin.tasks.renew_acme_order")
    log.info("renewal of %s queued by %s", acme_cert.certificate.unique_name, acting_user)
    return order


def run_queued_renewal(order_id: int) -> str:
    """The background task of Renew Now: run the renewal's order, and on failure record it as
    the schedule's renewals are; a summary for the django-q2 admin."""
    order = AcmeOrder.objects.filter(pk=order_id, purpose=AcmeOrder.Purpose.RENEWAL).first()
    acme_cert = None
    if order is not None and order.certificate_id is not None:
        acme_cert = (
            AcmeCertificate.objects.select_related("certificate", "account", "organization")
            .filter(certificate_id=order.certificate_id)
            .first()
        )
    if order is None or acme_cert is None:
        return f"Renewal order {order_id}: nothing to renew any more."
    name = acme_cert.certificate.unique_name
    try:
        new = _run_renewal(order, acme_cert, timezone.now())
    except runs.NotClaimed as exc:
        return str(exc)
    except acme_client.AcmeProblem as problem:
        return f"Renewal of {name} failed: {problem.words}"
    return f"Renewed {name} as {new.unique_name}."


def record_failure(
    *, acme_cert: AcmeCertificate, problem: acme_client.AcmeProblem, now: datetime
) -> None:
    """Count the failure, schedule the retry, and tell the recipients (once a day)."""
    with transaction.atomic():
        acme_cert.failures += 1
        acme_cert.last_error = problem.words
        acme_cert.failing_since = acme_cert.failing_since or now
        acme_cert.next_attempt_at = now + retry_delay(acme_cert.failures)
        alert = acme_cert.alerted_at is None or now - acme_cert.alerted_at >= ALERT_EVERY
        if alert:
            acme_cert.alerted_at = now
        acme_cert.save(
            update_fields=[
                "failures",
                "last_error",
                "failing_since",
                "next_attempt_at",
                "alerted_at",
            ]
        )
        record_audit(
            org=acme_cert.organization,
            acting_user=None,
            section=SECTION,
            action="acmeRenewalFailed",
            message=f"Renewal of {acme_cert.certificate.unique_name} failed "
            f"(attempt {acme_cert.failures}): {problem.words}",
        )
    log.warning("renewal of %s failed: %s", acme_cert.certificate.unique_name, problem.words)
    if alert:
        renewal_failed.send(
            sender=AcmeCertificate,
            acme_cert=acme_cert,
            error=problem.words,
            next_attempt_at=acme_cert.next_attempt_at,
        )


@transaction.atomic
def update_renewal_settings(
    *,
    acme_cert: AcmeCertificate,
    auto_renew: bool,
    renew_fraction: float,
    new_key: bool,
    acting_user: object,
) -> None:
    """Change when and how a certificate is renewed."""
    acme_cert.auto_renew, acme_cert.renew_fraction, acme_cert.new_key = (
        auto_renew,
        renew_fraction,
        new_key,
    )
    acme_cert.full_clean(exclude=["certificate", "account", "organization"])
    certificate = acme_cert.certificate
    if certificate.not_before and certificate.not_after:
        acme_cert.plan(certificate.not_before, certificate.not_after)
    acme_cert.save()
    record_audit(
        org=acme_cert.organization,
        acting_user=acting_user,  # type: ignore[arg-type]
        section=SECTION,
        action="changedAcmeRenewal",
        message=f"Renewal of {certificate.unique_name}: "
        + (
            f"automatic at {round(renew_fraction * 100)}% of the lifetime left, "
            + ("new key" if new_key else "same key")
            if auto_renew
            else "off"
        ),
    )


def failing_home_notices(request: OrgRequest) -> list[setup_tree.Notice]:
    """Setup Home's warning: certificates of the org whose ACME renewal is failing (one
    query), for members who manage certificates."""
    if permissions.MANAGE_CERTIFICATES.codename not in request.perms:
        return []
    failing = list(
        AcmeCertificate.objects.for_org(request.org)
        .filter(failing_since__isnull=False)
        .values_list("certificate__unique_name", flat=True)[:6]
    )
    if not failing:
        return []
    names = ", ".join(failing[:5]) + (" and more" if len(failing) > 5 else "")
    return [
        setup_tree.Notice(
            text=f"Automatic renewal is failing for {names}: each is retried with back-off, "
            "and expiration notices are sent for them meanwhile.",
            url=reverse("certadmin:acme-overview", args=[request.org.public_id]),
            link_label="See why",
        )
    ]
