"""Is an uploaded client certificate fit for mutual TLS? Pure functions, no Django.

The checks of SPEC 5 for a Mutual Authentication Certificate, in the order a person would
want to hear about them: which certificate is the client's, does it carry the clientAuth
extended key usage, is it within its validity period, and does its chain reach a root of the
trusted bundle (or is it self-signed, which only a setting allows). The last check is
cryptography's RFC 5280 path validation (x509.verification: signatures, path length, name
constraints, key usage); the checks before it are there to say in words what is wrong.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from certadmin.crypto.chains import ChainError, issued_by, order_chain
from certadmin.crypto.display import fingerprint_hex, name_to_string
from certadmin.crypto.keypairs import spki
from certadmin.crypto.parsing import certificate_ders

# A chain longer than this is refused rather than walked.
MAX_DEPTH = 10
# A leaf that starts this little after the upload is accepted: a CA's clock may run ahead of
# ours, and certificates are often issued to start "now".
CLOCK_SKEW = timedelta(minutes=5)


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
    for der in certificate_ders(data):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                anchors.append(x509.load_der_x509_certificate(der))
        except ValueError:
            continue
    return anchors


def is_self_signed(cert: x509.Certificate) -> bool:
    return cert.subject == cert.issuer and issued_by(cert, cert)


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
        if issuer is not cert and cert.issuer == issuer.subject and issued_by(cert, issuer)
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
        if anchor.subject == cert.subject and spki(anchor.public_key()) == spki(cert.public_key()):
            return anchor
    return next(
        (a for a in anchors if a.subject == cert.issuer and issued_by(cert, a)),
        None,
    )


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _signs_certificates(usage: x509.KeyUsage | None) -> bool:
    """May a certificate authority with this key usage sign certificates (keyCertSign)?"""
    return usage is None or usage.key_cert_sign


def _signs_handshakes(usage: x509.KeyUsage | None) -> bool:
    """May a client with this key usage sign the TLS handshake (digitalSignature), which is
    how it proves that it holds its key?"""
    return usage is None or usage.digital_signature


def _check_issuers(chain: list[x509.Certificate], now: datetime) -> None:
    for issuer in chain[1:]:
        name = name_to_string(issuer.subject)
        if _is_ca(issuer) is False:
            raise ClientCertificateError(
                f"The certificate '{name}' in the chain is not a certificate authority "
                "(basicConstraints CA:FALSE), so it cannot have issued the client certificate."
            )
        if _is_ca(issuer) is None:
            raise ClientCertificateError(
                f"The certificate '{name}' in the chain does not say that it is a certificate "
                "authority (it has no basicConstraints extension), so the chain cannot be "
                "validated."
            )
        if not _signs_certificates(_key_usage(issuer)):
            raise ClientCertificateError(
                f"The certificate '{name}' in the chain may not sign certificates: its key "
                "usage does not include keyCertSign (Certificate Sign)."
            )
        if issuer.not_valid_after_utc <= now:
            raise ClientCertificateError(
                f"The issuer certificate '{name}' expired on "
                f"{_date(issuer.not_valid_after_utc)}: the chain is no longer valid."
            )
        if issuer.not_valid_before_utc > max(now, chain[0].not_valid_before_utc):
            raise ClientCertificateError(
                f"The issuer certificate '{name}' is not valid before "
                f"{_date(issuer.not_valid_before_utc)}: the chain is not valid yet."
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
    if not _signs_handshakes(_key_usage(leaf)):
        raise ClientCertificateError(
            f"The certificate '{leaf_name}' cannot be used for client authentication: its key "
            "usage does not include digitalSignature, with which a TLS client proves that it "
            "holds the key."
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
    if _is_ca(anchor) is None:
        raise ClientCertificateError(
            f"The trusted root '{name_to_string(anchor.subject)}' has no basicConstraints "
            "extension (an old version 1 certificate), so no chain to it can be validated. Ask "
            "your administrator to replace it in the trusted root bundle."
        )
    # A leaf accepted within the clock skew is validated at its start.
    validate_path(chain, anchor, at=max(now, leaf.not_valid_before_utc))
    return CheckedClientCertificate(chain, reordered, server_auth, False, notes)


# --- RFC 5280 path validation -----------------------------------------------------------------
# cryptography's verifier with policies for client certificates: the Web PKI defaults would
# also demand a subjectAltName and an authorityKeyIdentifier of the client certificate, which
# those of in-house CAs often lack and which mutual TLS does not use. What it checks whatever
# the policy: every signature, every validity period, basicConstraints (CA:TRUE on each
# authority, and its path length) and name constraints; the policies below add key usage.


def _ca_key_usage(
    policy: verification.Policy, cert: x509.Certificate, usage: x509.KeyUsage | None
) -> None:
    if not _signs_certificates(usage):
        raise ValueError("keyUsage of a certificate authority without keyCertSign")


def _client_key_usage(
    policy: verification.Policy, cert: x509.Certificate, usage: x509.KeyUsage | None
) -> None:
    if not _signs_handshakes(usage):
        raise ValueError("keyUsage of a client certificate without digitalSignature")


_CA_POLICY = (
    verification.ExtensionPolicy.permit_all()
    .require_present(x509.BasicConstraints, verification.Criticality.AGNOSTIC, None)
    .may_be_present(x509.KeyUsage, verification.Criticality.AGNOSTIC, _ca_key_usage)
)
_CLIENT_POLICY = verification.ExtensionPolicy.permit_all().may_be_present(
    x509.KeyUsage, verification.Criticality.AGNOSTIC, _client_key_usage
)


def validate_path(chain: list[x509.Certificate], anchor: x509.Certificate, *, at: datetime) -> None:
    """Validate `chain` (leaf first) up to the trusted `anchor` at the moment `at`.

    Raises ClientCertificateError saying which constraint the chain breaks.
    """
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([anchor]))
        .time(at)
        .max_chain_depth(MAX_DEPTH)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=_CLIENT_POLICY)
        .build_client_verifier()
    )
    try:
        verifier.verify(chain[0], chain[1:])
    except verification.VerificationError as exc:
        raise ClientCertificateError(_explain(str(exc), chain, anchor)) from exc


def _path_length(cert: x509.Certificate) -> int | None:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length
    except x509.ExtensionNotFound:
        return None


def _has_name_constraints(cert: x509.Certificate) -> bool:
    try:
        cert.extensions.get_extension_for_class(x509.NameConstraints)
    except x509.ExtensionNotFound:
        return False
    return True


def _explain(detail: str, chain: list[x509.Certificate], anchor: x509.Certificate) -> str:
    """The verifier's reason in the words of the other upload messages."""
    leaf_name = name_to_string(chain[0].subject)
    authorities = list({fingerprint_hex(c): c for c in [*chain[1:], anchor]}.values())
    if "path length constraint" in detail:
        # The authority at index i has i authorities between itself and the client certificate.
        for below, authority in enumerate(authorities):
            limit = _path_length(authority)
            if limit is not None and below > limit:
                return (
                    f"The chain is longer than '{name_to_string(authority.subject)}' allows: "
                    f"its basicConstraints allow {limit} intermediate certificate "
                    f"authorit{'y' if limit == 1 else 'ies'} below it (pathLenConstraint), and "
                    f"the chain has {below}."
                )
    constrained = next((c for c in authorities if _has_name_constraints(c)), None)
    lowered = detail.lower()
    if constrained is not None and ("name constraint" in lowered or "nameconstraints" in lowered):
        issuer_name = name_to_string(constrained.subject)
        if "unsupported" in detail:
            return (
                f"The name constraints of '{issuer_name}' are of a kind this service cannot "
                "check, so no client certificate it issued can be accepted."
            )
        return (
            f"The certificate '{leaf_name}' has a name that '{issuer_name}' may not issue "
            "certificates for (its name constraints do not allow it)."
        )
    reason = detail.split(" (encountered processing", 1)[0]
    for prefix in ("validation failed: ", "candidates exhausted: "):
        reason = reason.removeprefix(prefix)
    return f"The chain of '{leaf_name}' is not valid: {reason}."
