"""Certificate chains: finding the leaf of a key, ordering a chain, completing it."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certadmin.crypto.display import fingerprint_hex, name_to_string
from certadmin.crypto.keypairs import spki


class ChainError(ValueError):
    """Certificates do not form a single valid chain from the leaf; message is user-facing."""


def find_leaf_for_key(
    certs: list[x509.Certificate], public_key: PublicKeyTypes
) -> x509.Certificate | None:
    """The first certificate whose public key equals ``public_key`` (compared as SPKI DER)."""
    wanted = spki(public_key)
    return next((cert for cert in certs if spki(cert.public_key()) == wanted), None)


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Does ``issuer``'s key verify ``cert``'s signature (and do the names chain)?"""
    try:
        cert.verify_directly_issued_by(issuer)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def order_chain(leaf: x509.Certificate, certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Return ``[leaf, issuer, issuer's issuer, ...]`` built from ``certs``.

    Duplicates are dropped and the root may be missing. Raises ``ChainError`` if a link's
    signature does not verify or if any certificate is not on the path from the leaf.
    """
    seen = {fingerprint_hex(leaf)}
    pool: list[x509.Certificate] = []
    for cert in certs:
        if fingerprint_hex(cert) not in seen:
            seen.add(fingerprint_hex(cert))
            pool.append(cert)
    chain = [leaf]
    current = leaf
    while pool and current.subject != current.issuer:
        candidates = [cert for cert in pool if cert.subject == current.issuer]
        if not candidates:
            break
        issuer = next((cert for cert in candidates if issued_by(current, cert)), None)
        if issuer is None:
            raise ChainError(
                f"The certificate '{name_to_string(current.subject)}' is not validly signed by "
                f"'{name_to_string(candidates[0].subject)}' (signature check failed)."
            )
        pool.remove(issuer)
        chain.append(issuer)
        current = issuer
    if pool:
        raise ChainError(
            f"The certificate '{name_to_string(pool[0].subject)}' is not part of the chain of "
            f"'{name_to_string(leaf.subject)}'."
        )
    return chain


def complete_chain(
    chain: list[x509.Certificate], stored: list[x509.Certificate]
) -> tuple[list[x509.Certificate], list[x509.Certificate]]:
    """``chain`` (from ``order_chain``) continued with the certificates of ``stored`` (a chain
    held before, leaf first) that still sign its top, and the certificates added.

    For Update Signed Certificate: a CA's renewed leaf uploaded alone keeps the intermediates
    (and root) already on file, as long as each one verifies the signature of the one below.
    """
    added: list[x509.Certificate] = []
    seen = {fingerprint_hex(cert) for cert in chain}
    pool = [cert for cert in stored[1:] if fingerprint_hex(cert) not in seen]
    current = chain[-1]
    while current.subject != current.issuer:
        issuer = next((cert for cert in pool if issued_by(current, cert)), None)
        if issuer is None:
            break
        pool.remove(issuer)
        added.append(issuer)
        current = issuer
    return chain + added, added
