"""Building new X.509 objects from a key: self-signed certificates and signing requests."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from certadmin.crypto.keypairs import PrivateKey, key_type_of, validity_days


def _name(pairs: list[tuple[x509.ObjectIdentifier, str]]) -> x509.Name:
    """Build a Name from (oid, value) pairs in DER order, skipping empty values."""
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value])


def build_self_signed(
    key: PrivateKey, *, common_name: str, org_unit: str, org_name: str, now: datetime
) -> x509.Certificate:
    """Self-signed end-entity certificate ``CN=<cn>, OU=<ou>, O=<org>`` valid from ``now``."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware.")
    key_type = key_type_of(key.public_key())
    if key_type is None:
        raise ValueError("Unsupported key type.")
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    name = _name(
        [
            (NameOID.ORGANIZATION_NAME, org_name),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, org_unit),
            (NameOID.COMMON_NAME, common_name),
        ]
    )
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=is_rsa,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(secrets.randbelow(2**128 - 1) + 1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=validity_days(key_type)))
        .add_extension(key_usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def build_csr(
    key: PrivateKey,
    *,
    common_name: str,
    email: str = "",
    company: str = "",
    department: str = "",
    city: str = "",
    state: str = "",
    country: str = "",
) -> x509.CertificateSigningRequest:
    """SHA-256 CSR whose subject holds only the non-empty fields (``country``: 2 letters)."""
    if country and (len(country) != 2 or not country.isascii() or not country.isalpha()):
        raise ValueError("The country code must be two letters, e.g. CH.")
    subject = _name(
        [
            (NameOID.COUNTRY_NAME, country.upper()),
            (NameOID.STATE_OR_PROVINCE_NAME, state),
            (NameOID.LOCALITY_NAME, city),
            (NameOID.ORGANIZATION_NAME, company),
            (NameOID.ORGANIZATIONAL_UNIT_NAME, department),
            (NameOID.COMMON_NAME, common_name),
            (NameOID.EMAIL_ADDRESS, email),
        ]
    )
    return x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
