"""Expired certificates: what a bulk delete would do, and doing it (SPEC 7)."""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from certadmin import usage
from certadmin.models import Certificate
from certadmin.querysets import CertificateQuerySet
from orgs import clock
from orgs.models import Organization
from orgs.services.audit import record_audit

SECTION = "Certificate and Key Management"
# The list page loads only what it shows: never the sealed key or the PEM blobs.
LIST_DEFERRED = ("private_key", "csr_pem", "chain_pem", "subject_fields")


def expired_or_expiring(
    org: Organization, *, days: int, now: datetime | None = None
) -> CertificateQuerySet:
    """The org's expired certificates and those with at most `days` days left (orgs.clock:
    calendar days in the org's time zone), soonest first. One range on the indexed
    (organization, not_after) pair, whose order is the page's order.
    """
    now = now or timezone.now()
    return (
        Certificate.objects.for_org(org)
        .filter(not_after__lt=clock.day_end(days, org.tzinfo, now))
        .select_related("organization")
        .defer(*LIST_DEFERRED)
        .order_by("not_after", "unique_name")
    )


@dataclass
class DeletionPlan:
    deletable: list[Certificate] = field(default_factory=list)
    kept: list[tuple[Certificate, str]] = field(default_factory=list)  # with the reason


def plan_expired_deletion(
    *, org: Organization, uuids: Collection[UUID], now: datetime | None = None
) -> DeletionPlan:
    """Split the chosen certificates into those a bulk delete removes (expired, unused) and
    those it keeps, with the reason. Two queries whatever the number chosen."""
    now = now or timezone.now()
    chosen = list(
        Certificate.objects.for_org(org)
        .filter(uuid__in=list(uuids))
        .select_related("organization")
        .defer(*LIST_DEFERRED)
        .order_by("not_after", "unique_name")
    )
    uses = usage.uses_by_certificate(c.pk for c in chosen)
    plan = DeletionPlan()
    for certificate in chosen:
        if not certificate.is_expired(now):
            plan.kept.append((certificate, "not expired"))
        elif uses.get(certificate.pk):
            where = "; ".join(f"{use.kind}: {use.name}" for use in uses[certificate.pk])
            plan.kept.append((certificate, f"in use ({where}): replace it first"))
        else:
            plan.deletable.append(certificate)
    return plan


@transaction.atomic
def delete_expired_certificates(
    *,
    org: Organization,
    uuids: Collection[UUID],
    acting_user: User | None,
    now: datetime | None = None,
) -> DeletionPlan:
    """Delete the chosen certificates that are expired and unused; keep (and report) the rest.

    The database refuses to delete a certificate that came into use since the plan was made
    (on_delete=PROTECT): then nothing is deleted and ValidationError says so.
    """
    plan = plan_expired_deletion(org=org, uuids=uuids, now=now)
    if not plan.deletable:
        return plan
    try:
        Certificate.objects.filter(pk__in=[c.pk for c in plan.deletable]).delete()
    except ProtectedError as exc:
        raise ValidationError(
            "A chosen certificate came into use meanwhile; nothing was deleted. Try again."
        ) from exc
    for certificate in plan.deletable:
        assert certificate.not_after is not None
        record_audit(
            org=org,
            acting_user=acting_user,
            section=SECTION,
            action="deletedCert",
            message=f"Deleted expired certificate {certificate.unique_name} "
            f"(expired {certificate.not_after:%Y-%m-%d})",
        )
    return plan
