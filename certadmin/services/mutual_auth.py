"""Writes of mutual authentication certificates: upload and delete (SPEC 5)."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from certadmin import trust
from certadmin.crypto import display, parsing
from certadmin.models import MutualAuthCertificate
from orgs.models import Organization
from orgs.services.audit import record_audit

log = logging.getLogger(__name__)
SECTION = "Certificate and Key Management"
MSG_OTHER_ORG = (
    "This certificate is already registered in another org. A mutual authentication "
    "certificate must be used only in one org."
)
MSG_REORDERED = (
    "The certificates in the file were not in chain order; they were stored client "
    "certificate first, then each issuer."
)


@dataclass
class UploadResult:
    certificate: MutualAuthCertificate
    warnings: list[str] = field(default_factory=list)


def trusted_roots() -> list[x509.Certificate]:
    """The trust anchors of settings.CERTADMIN_MTLS_TRUST_BUNDLE (read on every upload).

    Uploads are rare and the bundle is ~150 certificates (a few ms), so it is not cached:
    an operator's change to the file applies at once on every web server.
    """
    path = Path(settings.CERTADMIN_MTLS_TRUST_BUNDLE)
    try:
        anchors = trust.load_bundle(path.read_bytes())
    except OSError as exc:
        log.error("cannot read the mutual-TLS trust bundle %s: %s", path, exc)
        anchors = []
    if not anchors:
        raise ValidationError(
            "The trusted root bundle of this installation cannot be read, so no client "
            "certificate can be checked. Ask your administrator (CERTADMIN_MTLS_TRUST_BUNDLE)."
        )
    return anchors


def _refuse_if_registered(org: Organization, fingerprint: str) -> None:
    existing = (
        MutualAuthCertificate.objects.with_fingerprint(fingerprint)
        .only("organization_id", "unique_name")
        .first()
    )
    if existing is None:
        return
    if existing.organization_id == org.pk:
        raise ValidationError(
            {
                "certificate": [
                    f"This certificate is already registered in this org as {existing.unique_name}."
                ]
            }
        )
    raise ValidationError({"certificate": [MSG_OTHER_ORG]})


def upload_mutual_auth_certificate(
    *,
    org: Organization,
    label: str,
    unique_name: str,
    data: bytes,
    acting_user: User | None,
    now: datetime | None = None,
) -> UploadResult:
    """Register a client certificate (and its chain) for mutual TLS in `org`.

    Raise ValidationError with user-facing messages when the names, the file or the
    certificate do not pass the checks of SPEC 5; nothing is stored then. The file is parsed
    and checked before the transaction opens (it only writes).
    """
    now = now or timezone.now()
    MutualAuthCertificate.check_names(org=org, label=label, unique_name=unique_name)
    try:
        certs = parsing.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
        checked = trust.check_client_certificate(
            certs,
            anchors=[] if _single_self_signed(certs) else trusted_roots(),
            allow_self_signed=settings.CERTADMIN_MTLS_ALLOW_SELF_SIGNED,
            now=now,
        )
    except ValueError as exc:  # CertificateParseError, ClientCertificateError
        raise ValidationError({"certificate": [str(exc)]}) from exc

    fingerprint = display.fingerprint_hex(checked.leaf)
    _refuse_if_registered(org, fingerprint)
    certificate = MutualAuthCertificate(
        organization=org,
        label=label,
        unique_name=unique_name,
        server_auth=checked.server_auth,
        created_by=acting_user,
        created_at=now,
    )
    certificate.apply_chain(checked.chain)
    try:
        with transaction.atomic():
            certificate.save()
            record_audit(
                org=org,
                acting_user=acting_user,
                section=SECTION,
                action="uploadedMutualAuthCert",
                message=f"Uploaded mutual authentication certificate {unique_name} "
                f"({certificate.subject}, expires {certificate.not_after:%Y-%m-%d})",
            )
    except IntegrityError as exc:  # a concurrent upload of the same certificate or name
        _refuse_if_registered(org, fingerprint)
        MutualAuthCertificate.check_names(org=org, label=label, unique_name=unique_name)
        raise ValidationError({"certificate": [MSG_OTHER_ORG]}) from exc

    warnings = list(checked.warnings)
    if checked.reordered:
        warnings.insert(0, MSG_REORDERED)
    log.info("mutual-auth certificate %s uploaded into %s", certificate.uuid, org.public_id)
    return UploadResult(certificate, warnings)


def _single_self_signed(certs: list[x509.Certificate]) -> bool:
    """A lone self-signed certificate needs no trust bundle (it is allowed or refused as such)."""
    return len(certs) == 1 and trust.is_self_signed(certs[0])


@transaction.atomic
def delete_mutual_auth_certificate(
    *, certificate: MutualAuthCertificate, acting_user: User | None
) -> None:
    """Delete a client certificate; clients presenting it are refused from then on."""
    org = certificate.organization
    name = certificate.unique_name
    certificate.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="deletedMutualAuthCert",
        message=f"Deleted mutual authentication certificate {name}",
    )
