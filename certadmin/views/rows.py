"""Rows of the certificate tables, as plain values ready to print.

The views build each row here once, from what the page already loaded: links, labels and
dates as strings, so the templates only print them and a row costs no query.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from django.utils import timezone

from certadmin.models import Certificate, MutualAuthCertificate
from certadmin.usage import Use
from orgs.links import object_link

# get_kind_display() rebuilds its choices dict on every call.
KIND_LABELS: dict[str, str] = dict(Certificate.Kind.choices)


@dataclass(slots=True)
class CertificateRow:
    url: str
    edit_url: str
    delete_url: str
    label: str
    unique_name: str
    kind: str
    key: str
    exportable: str
    expires: str  # "" while awaiting the signed certificate
    badge_class: str
    badge: str  # "" when no badge is due
    status: str
    uses: list[Use]


@dataclass(slots=True)
class ExpiredRow:
    uuid: str
    url: str
    replace_url: str
    renew_url: str
    label: str
    unique_name: str
    key: str
    expires: str
    badge_class: str
    badge: str
    expired: bool
    uses: list[Use]


@dataclass(slots=True)
class MutualAuthRow:
    url: str
    delete_url: str
    label: str
    unique_name: str
    subject: str
    issuer: str
    expires: str
    badge_class: str
    badge: str


def day(moment: datetime | None, tz: tzinfo) -> str:
    """`moment` as `{{ moment|date:"Y-m-d" }}` shows it in the current time zone `tz`;
    "" for None."""
    return "" if moment is None else timezone.localtime(moment, tz).date().isoformat()


def expiry(
    moment: datetime | None, badge: tuple[str, str] | None, tz: tzinfo
) -> tuple[str, str, str]:
    """The Expiration Date cell: the day, the badge's css class and text ("" when none)."""
    badge_class, badge_text = badge or ("", "")
    return day(moment, tz), badge_class, badge_text


def certificate_rows(
    certificates: Iterable[Certificate], *, org: str, uses: Mapping[int, list[Use]], now: datetime
) -> list[CertificateRow]:
    """The Certificate and Key Management table; `org` is the org's public id."""
    detail, edit, delete = (
        object_link(f"certadmin:certificate-{name}", org) for name in ("detail", "edit", "delete")
    )
    tz = timezone.get_current_timezone()
    rows = []
    for c in certificates:
        ref = str(c.uuid)
        expires, badge_class, badge = expiry(c.not_after, c.badge(now), tz)
        rows.append(
            CertificateRow(
                url=detail(ref),
                edit_url=edit(ref),
                delete_url=delete(ref),
                label=c.label,
                unique_name=c.unique_name,
                kind=KIND_LABELS.get(c.kind, c.kind),
                key=c.key_label,
                exportable="Yes" if c.exportable else "No",
                expires=expires,
                badge_class=badge_class,
                badge=badge,
                status=c.status,
                uses=uses.get(c.pk, []),
            )
        )
    return rows


def expired_rows(
    certificates: Iterable[Certificate], *, org: str, uses: Mapping[int, list[Use]], now: datetime
) -> list[ExpiredRow]:
    """The Expired Certificates table: a used certificate is replaced, an unused expired one
    can be selected for deletion, one that has not expired yet can be renewed."""
    detail, replace, renew = (
        object_link(f"certadmin:certificate-{name}", org) for name in ("detail", "replace", "renew")
    )
    tz = timezone.get_current_timezone()
    rows = []
    for c in certificates:
        ref = str(c.uuid)
        expires, badge_class, badge = expiry(c.not_after, c.badge(now), tz)
        rows.append(
            ExpiredRow(
                uuid=ref,
                url=detail(ref),
                replace_url=replace(ref),
                renew_url=renew(ref),
                label=c.label,
                unique_name=c.unique_name,
                key=c.key_label,
                expires=expires,
                badge_class=badge_class,
                badge=badge,
                expired=c.is_expired(now),
                uses=uses.get(c.pk, []),
            )
        )
    return rows


def mutual_auth_rows(
    certificates: Iterable[MutualAuthCertificate], *, org: str, now: datetime
) -> list[MutualAuthRow]:
    """The Mutual Authentication Certificates table of the Certificate and Key Management page."""
    detail, delete = (
        object_link(f"certadmin:mutual-auth-{name}", org) for name in ("detail", "delete")
    )
    tz = timezone.get_current_timezone()
    rows = []
    for c in certificates:
        ref = str(c.uuid)
        expires, badge_class, badge = expiry(c.not_after, c.badge(now), tz)
        rows.append(
            MutualAuthRow(
                url=detail(ref),
                delete_url=delete(ref),
                label=c.label,
                unique_name=c.unique_name,
                subject=c.subject,
                issuer=c.issuer,
                expires=expires,
                badge_class=badge_class,
                badge=badge,
            )
        )
    return rows
