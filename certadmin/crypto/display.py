"""What is shown and stored of a certificate: fingerprints, readable names, PEM text, facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from certadmin.crypto.keypairs import key_description

# Attributes rfc4514_string() would write as dotted OIDs, named as openssl names them (it
# already names CN, OU, O, L, ST, C, STREET, DC and UID).
_NAME_LABELS = {
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.TITLE: "title",
    NameOID.GIVEN_NAME: "GN",
    NameOID.SURNAME: "SN",
}


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as uppercase hex pairs joined by colons (AA:BB:...)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def fingerprint_hex(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint as 64 lowercase hex characters (for database keys)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def name_to_string(name: x509.Name) -> str:
    """Readable "CN=..., OU=..., O=..." (RFC 4514: CN first, special characters escaped) with
    UTF-8 left as is: cryptography's rfc4514_string() of each RDN, joined by ", " as openssl
    and browsers show names."""
    return ", ".join(rdn.rfc4514_string(_NAME_LABELS) for rdn in reversed(name.rdns))


def certificate_pem(cert: x509.Certificate) -> str:
    """PEM text of one certificate."""
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def chain_pem(certs: list[x509.Certificate]) -> str:
    """Concatenated PEM text of several certificates, in the given order."""
    return "".join(certificate_pem(cert) for cert in certs)


def csr_pem(csr: x509.CertificateSigningRequest) -> str:
    """PEM text of a certificate signing request."""
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


@dataclass(frozen=True)
class CertificateFacts:
    """Display facts about a certificate."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    fingerprint: str
    is_self_issued: bool
    key_description: str


def describe(cert: x509.Certificate) -> CertificateFacts:
    """Collect the display facts of ``cert`` (dates are aware UTC datetimes)."""
    return CertificateFacts(
        subject=name_to_string(cert.subject),
        issuer=name_to_string(cert.issuer),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        fingerprint=fingerprint_sha256(cert),
        is_self_issued=cert.subject == cert.issuer,
        key_description=key_description(cert.public_key()),
    )
