"""Named reads of certificates."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Self

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from orgs.models import Organization


class CertificateQuerySet(models.QuerySet["models.Model"]):
    def for_org(self, org: "Organization") -> Self:
        return self.filter(organization=org)

    def awaiting_signature(self) -> Self:
        """CA-signed certificates whose signed chain has not been uploaded yet."""
        return self.filter(not_after__isnull=True)

    def usable(self) -> Self:
        """Certificates with a chain: the ones that may be chosen where certificates are used."""
        return self.filter(not_after__isnull=False)

    def not_replaced(self) -> Self:
        """Certificates no replacement has taken over (`Certificate.replaced_at`), and
        replaced ones that something uses again (an SSO configuration pointed back at one):
        a certificate in use is never left without expiration notices."""
        from certadmin import usage

        return self.filter(models.Q(replaced_at__isnull=True) | usage.in_use(self.model))

    def expired(self, *, now: datetime | None = None) -> Self:
        return self.filter(not_after__lte=now or timezone.now())

    def expiring_within(self, days: int, *, now: datetime | None = None) -> Self:
        """Not yet expired, expiring within `days` days of `now`."""
        now = now or timezone.now()
        return self.filter(not_after__gt=now, not_after__lte=now + timedelta(days=days))

    def of_kind(self, kind: str) -> Self:
        return self.filter(kind=kind)
