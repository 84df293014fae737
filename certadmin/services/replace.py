"""Switch every use of a certificate to another one, in one transaction (SPEC 7; 2.2 Renew).

The one path that moves uses: the SSO page's Replace (the retired default proxy
certificate), the Expired Certificates page's guided replacement and Renew all call
`replace_certificate`, which asks certadmin.usage to move each registered kind of use.
A failure anywhere (a refused choice, a constraint, a crash half-way) rolls back everything:
the new certificate, the moved uses, the audit lines and the delete of the old one.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from certadmin import naming, usage
from certadmin.models import Certificate, ProxyCertificate
from certadmin.services import certificates, sso
from orgs import clock
from orgs.models import Organization
from orgs.services.audit import record_audit
from orgs.wording import count

SECTION = "Certificate and Key Management"
_DATE_SUFFIX = re.compile(r"_\d{2}[A-Z][a-z]{2}\d{4}(_\d+)?$")
_RENEWED_SUFFIX = re.compile(r" \(renewed \d{4}-\d{2}-\d{2}\)$")

Replaceable = Certificate | ProxyCertificate


@dataclass(frozen=True)
class Replacement:
    certificate: Certificate  # the certificate the uses now point at
    created: bool  # generated for this replacement
    moved: list[usage.Use] = field(default_factory=list)
    deleted: str = ""  # Unique Name of the old certificate when it was deleted


def _name(old: Replaceable) -> str:
    return (
        "the retired default proxy certificate"
        if isinstance(old, ProxyCertificate)
        else (old.unique_name)
    )


def replacement_choices(
    *, org: Organization, old: Replaceable, uses: list[usage.Use], now: datetime | None = None
) -> QuerySet[Certificate]:
    """Certificates that may take over `uses` from `old`: the org's, with a signed chain, not
    expired, not `old` itself, with a key every use accepts."""
    now = now or timezone.now()
    choices = (
        Certificate.objects.for_org(org)
        .usable()
        .filter(not_after__gt=now)
        .select_related("organization")
        .order_by("label", "unique_name")
    )
    if isinstance(old, Certificate):
        choices = choices.exclude(pk=old.pk)
    key_types = usage.accepted_key_types(uses)
    if key_types is not None:
        choices = choices.filter(key_type__in=key_types)
    return choices


def _check_replacement(
    new: Certificate, *, org: Organization, old: Replaceable, now: datetime
) -> None:
    if new.organization_id != org.pk:
        raise ValidationError("The replacement must be a certificate of this org.")
    if isinstance(old, Certificate) and new.pk == old.pk:
        raise ValidationError("Choose another certificate than the one being replaced.")
    if new.is_awaiting_signature:
        raise ValidationError(
            f"{new.unique_name} is awaiting its signed certificate and cannot be used yet."
        )
    if new.is_expired(now):
        raise ValidationError(f"{new.unique_name} has expired; choose a current certificate.")


def _key_type_for(old: Replaceable, uses: list[usage.Use]) -> str:
    """The key type of a generated replacement: the old one's, if every use accepts it."""
    accepted = usage.accepted_key_types(uses)
    if accepted is None or old.key_type in accepted:
        return old.key_type
    return accepted[0]


def renewal_label(certificate: Certificate, *, now: datetime | None = None) -> str:
    """`<Label> (renewed 2026-12-07)`, the day in the org's time zone, so that pickers tell the
    renewal from the old certificate (issue 15). An earlier renewal's suffix is replaced, and
    the label is shortened to keep the whole within the Label's maximum length."""
    day = clock.local_date(now or timezone.now(), certificate.organization.tzinfo)
    suffix = f" (renewed {day.isoformat()})"
    base = _RENEWED_SUFFIX.sub("", certificate.label)
    return base[: naming.MAX_LABEL - len(suffix)].rstrip() + suffix


def renewal_name(certificate: Certificate, *, now: datetime | None = None) -> str:
    """`<UniqueName>_<ddMonYYYY>` (an earlier renewal's date suffix is replaced), unique in
    the org, at most 80 characters."""
    suffix = "_" + sso.day_label(certificate.organization.local(now or timezone.now()))
    base = _DATE_SUFFIX.sub("", certificate.unique_name)
    base = base[: naming.MAX_UNIQUE_NAME - len(suffix) - 3].rstrip("_")
    name, n = base + suffix, 1
    taken = Certificate.objects.for_org(certificate.organization)
    while taken.filter(unique_name__iexact=name).exists():
        n += 1
        name = f"{base}{suffix}_{n}"
    return name


def _switch(
    *,
    org: Organization,
    old: Replaceable,
    new: Certificate,
    refs: Collection[UUID] | None,
    acting_user: User | None,
) -> list[usage.Use]:
    moved = usage.switch(old, new, org=org, refs=refs)
    for use in moved:
        record_audit(
            org=org,
            acting_user=acting_user,
            section=SECTION,
            action="switchedCertUse",
            message=f"Switched {use.title} from {_name(old)} to {new.unique_name}",
        )
    return moved


def _record_takeover(
    *, org: Organization, old: Replaceable, new: Certificate, now: datetime, delete_old: bool
) -> None:
    """Once `new` holds every use `old` had, `old` is replaced: no more expiration notices
    about it (SPEC 4). `new` is current again if it had itself been replaced."""
    if new.replaced_at is not None:
        new.replaced_by, new.replaced_at = None, None
        new.save(update_fields=["replaced_by", "replaced_at"])
    if delete_old or not isinstance(old, Certificate) or usage.uses_of(old, org=org):
        return
    old.replaced_by, old.replaced_at = new, now
    old.save(update_fields=["replaced_by", "replaced_at"])


@transaction.atomic
def replace_certificate(
    *,
    org: Organization,
    old: Replaceable,
    new: Certificate | None = None,
    refs: Collection[UUID] | None = None,
    delete_old: bool = False,
    acting_user: User | None,
    now: datetime | None = None,
) -> Replacement:
    """Point every use of `old` in `org` (only those by the objects in `refs`, if given) at
    `new`, or at a new self-signed certificate when `new` is None; then delete `old` if asked.

    All in one transaction. Raise ValidationError when nothing uses `old`, when `new` may not
    be chosen (another org's, awaiting its chain, expired, a key some use refuses) or when
    `old` is the retired proxy and `delete_old` is set.
    """
    now = now or timezone.now()
    if isinstance(old, Certificate) and old.organization_id != org.pk:
        raise ValidationError("That certificate belongs to another org.")
    if delete_old and not isinstance(old, Certificate):
        raise ValidationError("The retired default proxy certificate is never deleted.")
    uses = usage.uses_of(old, org=org)
    if refs is not None:
        # Uses carry their uuid as canonical text; refs may be UUIDs or any text form of one.
        wanted = {str(ref if isinstance(ref, UUID) else UUID(str(ref))) for ref in refs}
        uses = [use for use in uses if use.ref in wanted]
    if not uses:
        raise ValidationError(f"Nothing uses {_name(old)}: there is nothing to switch.")
    created = new is None
    if new is None:
        if isinstance(old, Certificate):
            name = renewal_name(old, now=now)
            new = certificates.create_self_signed(
                org=org,
                label=renewal_label(old, now=now),
                unique_name=name,
                key_type=_key_type_for(old, uses),
                exportable=old.exportable,
                acting_user=acting_user,
                now=now,
            )
        else:
            new = sso.create_default_certificate(
                org=org, acting_user=acting_user, now=now, key_type=_key_type_for(old, uses)
            )
    else:
        _check_replacement(new, org=org, old=old, now=now)
    problems = usage.refusals(new, uses)
    if problems:
        raise ValidationError(problems)
    moved = _switch(org=org, old=old, new=new, refs=refs, acting_user=acting_user)
    _record_takeover(org=org, old=old, new=new, now=now, delete_old=delete_old)
    deleted = ""
    if delete_old:
        assert isinstance(old, Certificate)
        certificates.delete_certificate(certificate=old, acting_user=acting_user)
        deleted = old.unique_name
    return Replacement(certificate=new, created=created, moved=moved, deleted=deleted)


@transaction.atomic
def replace_proxy_certificate(
    *,
    org: Organization,
    new: Certificate | None = None,
    configs: Collection[UUID] | None = None,
    acting_user: User | None,
    now: datetime | None = None,
) -> Replacement:
    """Switch the org's configurations that still use the retired default proxy certificate
    (all of them, or those in `configs`) to `new` or to a new self-signed certificate."""
    proxy = sso.retired_proxy()
    if proxy is None:
        raise ValidationError("Nothing uses the retired default proxy certificate.")
    result = replace_certificate(
        org=org,
        old=proxy,
        new=new,
        refs=configs,
        acting_user=acting_user,
        now=now,
    )
    record_audit(
        org=org,
        acting_user=acting_user,
        section=sso.SECTION_SSO,
        action="replacedProxyCert",
        message=f"Replaced the retired default proxy certificate with "
        f"{result.certificate.unique_name}{' (new)' if result.created else ''} in "
        f"{count(len(result.moved), 'SAML SSO configuration', 'SAML SSO configurations')}",
    )
    return result


@transaction.atomic
def renew_certificate(
    *,
    certificate: Certificate,
    label: str,
    unique_name: str,
    acting_user: User | None,
    now: datetime | None = None,
) -> Replacement:
    """Create a certificate with `certificate`'s settings and a new key pair (SPEC 2.2 beyond).

    A self-signed renewal takes over every use at once, and the old certificate is marked
    replaced (no more expiration notices about it). A CA-signed renewal awaits its signed
    certificate like any new request; its uses move with Replace once the chain is uploaded
    (nothing may use a certificate awaiting its chain), which marks the old one then.
    """
    if certificate.is_awaiting_signature:
        raise ValidationError(
            f"{certificate.unique_name} is still awaiting its signed certificate: upload it "
            "instead of renewing."
        )
    org = certificate.organization
    now = now or timezone.now()
    if certificate.kind == Certificate.Kind.SELF_SIGNED:
        new = certificates.create_self_signed(
            org=org,
            label=label,
            unique_name=unique_name,
            key_type=certificate.key_type,
            exportable=certificate.exportable,
            acting_user=acting_user,
            now=now,
        )
        moved = (
            _switch(org=org, old=certificate, new=new, refs=None, acting_user=acting_user)
            if usage.uses_of(certificate)
            else []
        )
        _record_takeover(org=org, old=certificate, new=new, now=now, delete_old=False)
    else:
        new = certificates.create_ca_signed(
            org=org,
            label=label,
            unique_name=unique_name,
            key_type=certificate.key_type,
            exportable=certificate.exportable,
            subject=certificates.SubjectFields(**certificate.subject_fields),
            acting_user=acting_user,
        )
        moved = []
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="renewedCert",
        message=f"Renewed certificate {certificate.unique_name} as {new.unique_name}"
        + (f"; {count(len(moved), 'use', 'uses')} switched" if moved else ""),
    )
    return Replacement(certificate=new, created=True, moved=moved)
