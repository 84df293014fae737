"""Key pairs: the supported key types, generating, (de)serializing and describing keys."""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

KEY_TYPES: tuple[str, ...] = ("RSA-2048", "RSA-3072", "RSA-4096", "EC-P256", "EC-P384")
_RSA_SIZES = {"RSA-2048": 2048, "RSA-3072": 3072, "RSA-4096": 4096}
_EC_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "EC-P256": ec.SECP256R1,
    "EC-P384": ec.SECP384R1,
}
_EC_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def key_type_label(key_type: str) -> str:
    """Human label for a key type constant, e.g. "RSA 2048" or "ECDSA P-256"."""
    if key_type in _RSA_SIZES:
        return f"RSA {_RSA_SIZES[key_type]}"
    if key_type in _EC_CURVES:
        return f"ECDSA {_EC_LABELS[_EC_CURVES[key_type]().name]}"
    raise ValueError(f"Unknown key type: {key_type!r}")


def generate_private_key(key_type: str) -> PrivateKey:
    """Generate a new private key of one of ``KEY_TYPES``."""
    if key_type in _RSA_SIZES:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_SIZES[key_type])
    if key_type in _EC_CURVES:
        return ec.generate_private_key(_EC_CURVES[key_type]())
    raise ValueError(f"Unknown key type: {key_type!r}")


def private_key_to_der(key: PrivateKey) -> bytes:
    """Serialize a private key as unencrypted PKCS#8 DER (the caller encrypts it)."""
    return key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_private_key_der(der: bytes, *, trusted: bool = True) -> PrivateKey:
    """Load an unencrypted DER private key of a supported type.

    ``trusted`` keys (generated or validated by us before) skip the costly RSA consistency
    check; untrusted keys are fully validated. Raises ``ValueError`` on bad or unsupported keys.
    """
    try:
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=trusted
        )
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"Cannot load private key: {exc}") from exc
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)) and key_type_of(
        key.public_key()
    ):
        return key
    raise ValueError(f"Unsupported private key: {key_description(key.public_key())}.")


def validity_days(key_type: str) -> int:
    """Validity of a self-signed certificate: 730 days for RSA-4096, else 365."""
    if key_type not in KEY_TYPES:
        raise ValueError(f"Unknown key type: {key_type!r}")
    return 730 if key_type == "RSA-4096" else 365


def key_type_of(public_key: PublicKeyTypes) -> str | None:
    """Map a public key to its ``KEY_TYPES`` constant, or None if unsupported."""
    if isinstance(public_key, rsa.RSAPublicKey):
        key_type = f"RSA-{public_key.key_size}"
        return key_type if key_type in _RSA_SIZES else None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        for key_type, curve in _EC_CURVES.items():
            if isinstance(public_key.curve, curve):
                return key_type
    return None


def key_description(public_key: PublicKeyTypes) -> str:
    """Readable key description, e.g. "RSA 2048" or "ECDSA P-256"."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"RSA {public_key.key_size}"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"ECDSA {_EC_LABELS.get(public_key.curve.name, public_key.curve.name)}"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448"
    key_size = getattr(public_key, "key_size", None)
    name = type(public_key).__name__.removesuffix("PublicKey").lstrip("_")
    return f"{name} {key_size}" if key_size else name


def spki(public_key: PublicKeyTypes) -> bytes:
    """The SubjectPublicKeyInfo DER of a public key: equal for equal keys, whatever holds them."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_key_matches_certificate(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True if the certificate carries the public half of ``key``."""
    return spki(key.public_key()) == spki(cert.public_key())
