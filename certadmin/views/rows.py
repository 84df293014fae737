"""Rows of the certificate tables, as plain values ready to print.

The views build each row here once, from what the page already loaded: links, labels and
dates as strings, so the templates only print them and a row costs no query.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Self

from django.utils import timezone

from certadmin.models import Certificate, MutualAuthCertificate
from certadmin.models.certificate import CertificateBase
from certadmin.usage import Use
from orgs.links import object_link


@dataclass(slots=True)
class Row:
    """The cells of every certificate table, whatever the kind of certificate."""

    url: str
    label: str
    unique_name: str
    expires: str  # "" while awaiting the signed certificate
    badge_class: str
    badge: str  # "" when no badge is due

    @classmethod
    def of(
        cls, certificate: CertificateBase, url: str, now: datetime, tz: tzinfo, **cells: Any
    ) -> Self:
        """The row of `certificate` linking to `url`; `cells` are the table's own columns."""
        expires, badge_class, badge = certificate.expiry_cells(now, tz)
        return cls(
            url=url,
            label=certificate.label,
            unique_name=certificate.unique_name,
            expires=expires,
            badge_class=badge_class,
            badge=badge,
            **cells,
        )


@dataclass(slots=True)
class CertificateRow(Row):
    edit_url: str
    delete_url: str
    kind: str
    key: str
    exportable: str
    status: str
    uses: list[Use]


@dataclass(slots=True)
class ExpiredRow(Row):
    uuid: str
    replace_url: str
    renew_url: str
    key: str
    expired: bool
    uses: list[Use]


@dataclass(slots=True)
class MutualAuthRow(Row):
    delete_url: str
    subject: str
    issuer: str


def certificate_rows(
    certificates: Iterable[Certificate], *, org: str, uses: Mapping[int, list[Use]], now: datetime
) -> list[CertificateRow]:
    """The Certificate and Key Management table; `org` is the org's public id."""
    detail, edit, delete = (
        object_link(f"certadmin:certificate-{name}", org) for name in ("detail", "edit", "delete")
    )
    tz = timezone.get_current_timezone()
    return [
        CertificateRow.of(
            c,
            detail(ref := str(c.uuid)),
            now,
            tz,
            edit_url=edit(ref),
            delete_url=delete(ref),
            kind=c.kind_label,
            key=c.key_label,
            exportable="Yes" if c.exportable else "No",
            status=c.status,
            uses=uses.get(c.pk, []),
        )
        for c in certificates
    ]


def expired_rows(
    certificates: Iterable[Certificate], *, org: str, uses: Mapping[int, list[Use]], now: datetime
) -> list[ExpiredRow]:
    """The Expired Certificates table: a used certificate is replaced, an unused expired one
    can be selected for deletion, one that has not expired yet can be renewed."""
    detail, replace, renew = (
        object_link(f"certadmin:certificate-{name}", org) for name in ("detail", "replace", "renew")
    )
    tz = timezone.get_current_timezone()
    return [
        ExpiredRow.of(
            c,
            detail(ref := str(c.uuid)),
            now,
            tz,
            uuid=ref,
            replace_url=replace(ref),
            renew_url=renew(ref),
            key=c.key_label,
            expired=c.is_expired(now),
            uses=uses.get(c.pk, []),
        )
        for c in certificates
    ]


def mutual_auth_rows(
    certificates: Iterable[MutualAuthCertificate], *, org: str, now: datetime
) -> list[MutualAuthRow]:
    """The Mutual Authentication Certificates table of the Certificate and Key Management page."""
    detail, delete = (
        object_link(f"certadmin:mutual-auth-{name}", org) for name in ("detail", "delete")
    )
    tz = timezone.get_current_timezone()
    return [
        MutualAuthRow.of(
            c,
            detail(ref := str(c.uuid)),
            now,
            tz,
            delete_url=delete(ref),
            subject=c.subject,
            issuer=c.issuer,
        )
        for c in certificates
    ]
