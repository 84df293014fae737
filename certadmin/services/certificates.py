"""Writes of certificates: create, upload the signed chain, rename, delete (SPEC 2)."""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from certadmin import usage
from certadmin.crypto import building, chains, display, keypairs, parsing
from certadmin.models import Certificate
from keys import envelope
from orgs.models import Organization
from orgs.services.audit import record_audit

log = logging.getLogger(__name__)
SECTION = "Certificate and Key Management"
PRIVATE_KEY_PURPOSE = "certadmin.Certificate.private_key"


def _seal_key(key: keypairs.PrivateKey) -> bytes:
    return envelope.seal(keypairs.private_key_to_der(key), purpose=PRIVATE_KEY_PURPOSE)


def load_private_key(certificate: Certificate) -> keypairs.PrivateKey:
    """The certificate's private key, opened from its sealed blob (validated on the way in)."""
    der = envelope.open_sealed(bytes(certificate.private_key), purpose=PRIVATE_KEY_PURPOSE)
    return keypairs.load_private_key_der(der, trusted=True)


def private_key_der(certificate: Certificate) -> bytes:
    """PKCS#8 DER of an exportable key, for keystore export. Refuses non-exportable keys."""
    if not certificate.exportable:
        raise ValidationError(f"The private key of {certificate.unique_name} is not exportable.")
    return envelope.open_sealed(bytes(certificate.private_key), purpose=PRIVATE_KEY_PURPOSE)


def _save_new(certificate: Certificate) -> None:
    """Insert; callers are atomic, so a lost race rolls their whole transaction back."""
    try:
        certificate.save(force_insert=True)
    except IntegrityError as exc:  # a concurrent create took the name between check and save
        raise ValidationError(
            {
                "unique_name": [
                    f"A certificate with the Unique Name {certificate.unique_name} already exists."
                ]
            }
        ) from exc


@transaction.atomic
def create_self_signed(
    *,
    org: Organization,
    label: str,
    unique_name: str,
    key_type: str = "RSA-2048",
    exportable: bool = True,
    acting_user: User | None,
    now: datetime | None = None,
) -> Certificate:
    """Generate a key pair and a self-signed certificate (SPEC 2.1)."""
    Certificate.check_names(org=org, label=label, unique_name=unique_name)
    if key_type not in keypairs.KEY_TYPES:
        raise ValidationError(
            {"key_type": ["Choose RSA 2048, 3072 or 4096, or ECDSA P-256/P-384."]}
        )
    now = now or timezone.now()
    key = keypairs.generate_private_key(key_type)
    cert = building.build_self_signed(
        key, common_name=unique_name, org_unit=org.public_id, org_name=org.name, now=now
    )
    certificate = Certificate(
        organization=org,
        label=label,
        unique_name=unique_name,
        kind=Certificate.Kind.SELF_SIGNED,
        key_type=key_type,
        exportable=exportable,
        private_key=_seal_key(key),
        created_by=acting_user,
        modified_by=acting_user,
        created_at=now,
        modified_at=now,
    )
    certificate.apply_chain([cert])
    _save_new(certificate)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdSelfSignedCert",
        message=f"Created self-signed certificate {unique_name} ({certificate.key_label})",
    )
    return certificate


@dataclass(frozen=True)
class SubjectFields:
    common_name: str
    email: str = ""
    company: str = ""
    department: str = ""
    city: str = ""
    state: str = ""
    country: str = ""


@transaction.atomic
def create_ca_signed(
    *,
    org: Organization,
    label: str,
    unique_name: str,
    key_type: str = "RSA-2048",
    exportable: bool = True,
    subject: SubjectFields,
    acting_user: User | None,
) -> Certificate:
    """Generate a key pair and a PKCS#10 request; the certificate awaits its signed chain."""
    Certificate.check_names(org=org, label=label, unique_name=unique_name)
    if key_type not in keypairs.KEY_TYPES:
        raise ValidationError(
            {"key_type": ["Choose RSA 2048, 3072 or 4096, or ECDSA P-256/P-384."]}
        )
    if subject.country and (len(subject.country) != 2 or not subject.country.isalpha()):
        raise ValidationError({"country": ["The Country Code must be two letters, like US or DE."]})
    key = keypairs.generate_private_key(key_type)
    try:
        csr = building.build_csr(
            key,
            common_name=subject.common_name,
            email=subject.email,
            company=subject.company,
            department=subject.department,
            city=subject.city,
            state=subject.state,
            country=subject.country,
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    now = timezone.now()
    certificate = Certificate(
        organization=org,
        label=label,
        unique_name=unique_name,
        kind=Certificate.Kind.CA_SIGNED,
        key_type=key_type,
        exportable=exportable,
        private_key=_seal_key(key),
        subject_fields=subject.__dict__,
        csr_pem=display.csr_pem(csr),
        subject=display.name_to_string(csr.subject),
        created_by=acting_user,
        modified_by=acting_user,
        created_at=now,
        modified_at=now,
    )
    _save_new(certificate)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION,
        action="createdCASignedCert",
        message=f"Created CA-signed certificate {unique_name} ({certificate.key_label}), "
        "awaiting the signed certificate",
    )
    return certificate


@dataclass
class UploadResult:
    certificate: Certificate
    warnings: list[str]
    notes: list[str] = field(default_factory=list)  # what happened to the stored chain


def upload_signed_certificate(
    *, certificate: Certificate, data: bytes, acting_user: User | None, now: datetime | None = None
) -> UploadResult:
    """Store the CA's signed certificate (and chain) for a CA-signed certificate (SPEC 2.2).

    Upload and Update Signed Certificate both land here; nothing changes on any error. The file
    is parsed and matched to the key before the transaction opens (it only writes).
    """
    if certificate.kind != Certificate.Kind.CA_SIGNED:
        raise ValidationError(
            "A signed certificate can only be uploaded for a CA-signed certificate; "
            f"{certificate.unique_name} is self-signed."
        )
    try:
        certs = parsing.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    key = load_private_key(certificate)
    leaf = chains.find_leaf_for_key(certs, key.public_key())
    if leaf is None:
        raise ValidationError("The certificate does not match this certificate's private key.")
    try:
        chain = chains.order_chain(leaf, certs)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    updating = not certificate.is_awaiting_signature
    notes: list[str] = []
    if updating:
        chain, notes = _keep_stored_chain(certificate, chain)
    now = now or timezone.now()
    not_before, not_after = chain[0].not_valid_before_utc, chain[0].not_valid_after_utc
    with transaction.atomic():
        certificate.apply_chain(chain)
        certificate.modified_at, certificate.modified_by = now, acting_user
        certificate.save()
        record_audit(
            org=certificate.organization,
            acting_user=acting_user,
            section=SECTION,
            action="updatedSignedCert" if updating else "uploadedSignedCert",
            message=f"{'Updated' if updating else 'Uploaded'} the signed certificate of "
            f"{certificate.unique_name} (chain of {len(chain)}, expires {not_after:%Y-%m-%d})",
        )
    warnings = []
    if not_after <= now:
        warnings.append(
            f"The uploaded certificate expired on {not_after:%Y-%m-%d}. "
            "It was saved, but anything that uses it will be refused by its peers."
        )
    if not_before > now:
        warnings.append(
            f"The uploaded certificate is not valid before {not_before:%Y-%m-%d %H:%M} UTC."
        )
    return UploadResult(certificate, warnings, notes)


def _keep_stored_chain(
    certificate: Certificate, chain: list[x509.Certificate]
) -> tuple[list[x509.Certificate], list[str]]:
    """The chain Update Signed Certificate saves, and what it did with the one on file, in
    words for the page.

    The uploaded file is complete when its top is a root; otherwise the stored intermediates
    (and root) that still sign it are kept (chains.complete_chain), and those that no longer
    do are dropped: both are said.
    """
    stored = parsing.parse_certificates(certificate.chain_pem.encode())
    full, added = chains.complete_chain(chain, stored)
    kept = {display.fingerprint_hex(c) for c in full}
    dropped = [c for c in stored[1:] if display.fingerprint_hex(c) not in kept]
    notes = []
    if added:
        names = ", ".join(_short_name(c) for c in added)
        notes.append(
            f"Kept {_count(len(added), 'certificate')} of the stored chain that still "
            f"{'signs' if len(added) == 1 else 'sign'} the new certificate: {names}. "
            f"The chain now holds {_count(len(full), 'certificate')}; upload the whole chain "
            "to replace them."
        )
    if dropped:
        names = ", ".join(_short_name(c) for c in dropped)
        notes.append(
            f"Removed {_count(len(dropped), 'certificate')} of the stored chain that "
            f"{'does' if len(dropped) == 1 else 'do'} not sign the new certificate: {names}."
        )
    return full, notes


def _short_name(cert: x509.Certificate) -> str:
    """'Test Intermediate CA': the common name, or the whole subject when it has none."""
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return f"'{names[0].value!s}'" if names else f"'{display.name_to_string(cert.subject)}'"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


@transaction.atomic
def rename_certificate(
    *, certificate: Certificate, label: str, unique_name: str, acting_user: User | None
) -> None:
    """Change Label and Unique Name; type, key and exportability never change."""
    Certificate.check_names(
        org=certificate.organization,
        label=label,
        unique_name=unique_name,
        exclude_pk=certificate.pk,
    )
    old = certificate.unique_name
    if (certificate.label, certificate.unique_name) == (label, unique_name):
        return
    certificate.label, certificate.unique_name = label, unique_name
    certificate.modified_at, certificate.modified_by = timezone.now(), acting_user
    certificate.save(update_fields=["label", "unique_name", "modified_at", "modified_by"])
    record_audit(
        org=certificate.organization,
        acting_user=acting_user,
        section=SECTION,
        action="changedCertName",
        message=f"Changed certificate {old}: Label {label}, Unique Name {unique_name}",
    )


@transaction.atomic
def delete_certificate(*, certificate: Certificate, acting_user: User | None) -> None:
    """Delete a certificate and its key; refused while anything uses it (SPEC 7)."""
    uses = usage.uses_of(certificate)
    if uses:
        where = "; ".join(f"{use.kind}: {use.name}" for use in uses)
        raise ValidationError(
            f"{certificate.unique_name} is in use and cannot be deleted ({where})."
        )
    name = certificate.unique_name
    certificate.delete()
    record_audit(
        org=certificate.organization,
        acting_user=acting_user,
        section=SECTION,
        action="deletedCert",
        message=f"Deleted certificate {name}",
    )
