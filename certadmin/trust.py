"""Is an uploaded client certificate fit for mutual TLS? Pure functions, no Django.

The checks of SPEC 5 for a Mutual Authentication Certificate, in the order a person would
want to hear about them: which certificate is the client's, does it carry the clientAuth
extended key usage, is it within its validity period, and does its chain reach a root of the
trusted bundle (or is it self-signed, which only a setting allows).
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from certadmin.crypto import ChainError, fingerprint_hex, name_to_string, order_chain

# A chain longer than this is refused rather than walked.
MAX_DEPTH = 10
# A leaf that starts this little after the upload is accepted: a CA's clock may run ahead of
# ours, and certificates are often issued to start "now".
CLOCK_SKEW = timedelta(minutes=5)
_PEM_CERT = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----"
)


class ClientCertificateError(ValueError):
    """The upload is not a usable client certificate; the message is user-facing."""


@dataclass(frozen=True)
class CheckedClientCertificate:
    chain: list[x509.Certificate]  # the client certificate first, then each issuer uploaded
    reordered: bool  # the file did not list them leaf first
    server_auth: bool  # also carries serverAuth: accepted with a warning
    self_signed: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


def load_bundle(data: bytes) -> list[x509.Certificate]:
    """The certificates of a PEM trust bundle; blocks that do not parse are skipped.

    certifi's bundle holds an old root with a negative serial number, which `cryptography`
    loads with a deprecation warning: it is an anchor like any other, so the warning is muted.
    """
    anchors = []
    for match in _PEM_CERT.finditer(data):
        try:
            der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                anchors.append(x509.load_der_x509_certificate(der))
        except (ValueError, binascii.Error):
            continue
    return anchors


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and _signed_by(cert, cert)


def extended_key_usages(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def _is_ca(cert: x509.Certificate) -> bool | None:
    """True/False from basicConstraints, None when the extension is absent (v1 roots)."""
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return None


def pick_leaf(certs: list[x509.Certificate]) -> x509.Certificate:
    """The client certificate of an upload: the one that issued none of the others."""
    if len(certs) == 1:
        return certs[0]
    issuers = {
        fingerprint_hex(issuer)
        for cert in certs
        for issuer in certs
        if issuer is not cert and cert.issuer == issuer.subject and _signed_by(cert, issuer)
    }
    candidates = [cert for cert in certs if fingerprint_hex(cert) not in issuers]
    if len(candidates) > 1:
        candidates = [cert for cert in candidates if _is_ca(cert) is not True]
    unique = {fingerprint_hex(cert): cert for cert in candidates}
    if len(unique) == 1:
        return next(iter(unique.values()))
    if not unique:
        raise ClientCertificateError(
            "The file holds only certificate authorities: add the client certificate."
        )
    names = ", ".join(f"'{name_to_string(cert.subject)}'" for cert in unique.values())
    raise ClientCertificateError(
        f"The file holds several client certificates ({names}). Upload one client certificate "
        "with its chain."
    )


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _anchor_for(cert: x509.Certificate, anchors: list[x509.Certificate]) -> x509.Certificate | None:
    """The bundle certificate that is `cert` (same subject and key) or that signed it."""
    for anchor in anchors:
        if anchor.subject == cert.subject and _spki(anchor) == _spki(cert):
            return anchor
    return next(
        (a for a in anchors if a.subject == cert.issuer and _signed_by(cert, a)),
        None,
    )


def _check_issuers(chain: list[x509.Certificate], now: datetime) -> None:
    for issuer in chain[1:]:
        name = name_to_string(issuer.subject)
        if _is_ca(issuer) is False:
            raise ClientCertificateError(
                f"The certificate '{name}' in the chain is not a certificate authority "
                "(basicConstraints CA:FALSE), so it cannot have issued the client certificate."
            )
        if issuer.not_valid_after_utc <= now:
            raise ClientCertificateError(
                f"The issuer certificate '{name}' expired on "
                f"{_date(issuer.not_valid_after_utc)}: the chain is no longer valid."
            )


def check_client_certificate(
    certs: list[x509.Certificate],
    *,
    anchors: list[x509.Certificate],
    allow_self_signed: bool,
    now: datetime,
) -> CheckedClientCertificate:
    """Apply the upload checks of SPEC 5 to parsed certificates (any order).

    Raises ClientCertificateError (user-facing message) for the first problem found.
    """
    leaf = pick_leaf(certs)
    leaf_name = name_to_string(leaf.subject)
    try:
        chain = order_chain(leaf, certs)
    except ChainError as exc:
        raise ClientCertificateError(str(exc)) from exc
    if len(chain) > MAX_DEPTH:
        raise ClientCertificateError(f"The chain is longer than {MAX_DEPTH} certificates.")
    uploaded_order = list(dict.fromkeys(fingerprint_hex(c) for c in certs))
    reordered = [fingerprint_hex(c) for c in chain] != uploaded_order

    usages = extended_key_usages(leaf)
    if ExtendedKeyUsageOID.CLIENT_AUTH not in usages:
        raise ClientCertificateError(
            f"The certificate '{leaf_name}' cannot be used for client authentication: it "
            "does not carry the clientAuth extended key usage (TLS Web Client Authentication)."
        )
    if leaf.not_valid_after_utc <= now:
        raise ClientCertificateError(
            f"The certificate '{leaf_name}' expired on {_date(leaf.not_valid_after_utc)}."
        )
    if leaf.not_valid_before_utc > now + CLOCK_SKEW:
        raise ClientCertificateError(
            f"The certificate '{leaf_name}' is not valid before "
            f"{_date(leaf.not_valid_before_utc)}: a client could not authenticate with it yet. "
            "Upload it on or after that date."
        )
    notes: list[str] = []
    server_auth = ExtendedKeyUsageOID.SERVER_AUTH in usages
    if server_auth:
        notes.append(
            "This certificate is also valid for server authentication (serverAuth). It was "
            "accepted; a certificate issued for client authentication only is safer."
        )

    self_signed = len(chain) == 1 and is_self_signed(leaf)
    if self_signed:
        if not allow_self_signed:
            raise ClientCertificateError(
                f"The certificate '{leaf_name}' is self-signed. Self-signed client certificates "
                "are not accepted here: upload a certificate issued by a trusted certificate "
                "authority, with its chain."
            )
        return CheckedClientCertificate(chain, reordered, server_auth, True, notes)

    _check_issuers(chain, now)
    top = chain[-1]
    anchor = _anchor_for(top, anchors)
    if anchor is None:
        if is_self_signed(top):
            raise ClientCertificateError(
                f"The chain ends at the root '{name_to_string(top.subject)}', which is not in the "
                "trusted root bundle."
            )
        raise ClientCertificateError(
            f"The issuer '{name_to_string(top.issuer)}' of '{name_to_string(top.subject)}' is "
            "neither in the file nor in the trusted root bundle: add the intermediate "
            "certificates to the file, or ask your administrator to trust its root."
        )
    if anchor.not_valid_after_utc <= now:
        raise ClientCertificateError(
            f"The trusted root '{name_to_string(anchor.subject)}' expired on "
            f"{_date(anchor.not_valid_after_utc)}."
        )
    return CheckedClientCertificate(chain, reordered, server_auth, False, notes)
