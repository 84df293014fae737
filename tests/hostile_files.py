"""Crafted upload files, generated (no binary blobs in the repository).

The ASN.1 is written with a ten-line DER encoder rather than pyasn1: the structures are
deliberately broken or huge, which pyasn1's encoder would refuse or take seconds to build.
Real stores (a PKCS#12 and a JKS with a 25-certificate chain) come from `cryptography` and
pyjks. Used by tests/test_hostile_files.py and bench/hostile_upload.py.
"""

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache

import jks
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

PASSWORD = "changeit"
MIB = 1024 * 1024


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: identifier octet, definite length, contents."""
    size = len(content)
    if size < 0x80:
        return bytes([tag, size]) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytes([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        while arc := arc >> 7:
            chunk.append(0x80 | (arc & 0x7F))
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


ID_DATA = oid("1.2.840.113549.1.7.1")
ID_ENCRYPTED_DATA = oid("1.2.840.113549.1.7.6")
SECRET_BAG = oid("1.2.840.113549.1.12.10.1.5")
SAFE_CONTENTS_BAG = oid("1.2.840.113549.1.12.10.1.6")
FRIENDLY_NAME = oid("1.2.840.113549.1.9.20")
PBE_SHA1_3DES = oid("1.2.840.113549.1.12.1.3")


def data_info(content: bytes) -> bytes:
    """A ContentInfo of type data: OCTET STRING in [0] EXPLICIT."""
    return seq(ID_DATA, tlv(0xA0, tlv(0x04, content)))


def pfx(safes: list[bytes], *, mac_iterations: int = 2048) -> bytes:
    """A PFX around the given ContentInfos, with a (wrong) SHA-1 MAC."""
    mac = seq(
        seq(seq(oid("1.3.14.3.2.26"), b"\x05\x00"), tlv(0x04, bytes(20))),
        tlv(0x04, bytes(8)),
        integer(mac_iterations),
    )
    return seq(integer(3), data_info(seq(*safes)), mac)


def secret_bag(*attributes: bytes) -> bytes:
    value = tlv(0xA0, seq(oid("1.2"), tlv(0xA0, tlv(0x04, b""))))
    return seq(SECRET_BAG, value, *([tlv(0x31, b"".join(attributes))] if attributes else []))


def many_safes_pfx(count: int = 52_000) -> bytes:
    """The issue's file: ~1 MB whose AuthenticatedSafe holds `count` empty SafeContents."""
    return pfx([data_info(seq())] * count)


def many_secret_bags_pfx(count: int = 38_000) -> bytes:
    return pfx([data_info(seq(*[secret_bag()] * count))])


def nested_safe_contents_pfx(depth: int = 10_000) -> bytes:
    contents = seq()
    for _ in range(depth):
        contents = seq(seq(SAFE_CONTENTS_BAG, tlv(0xA0, contents)))
    return pfx([data_info(contents)])


def many_attributes_pfx(count: int = 40_000) -> bytes:
    name = seq(FRIENDLY_NAME, tlv(0x31, tlv(0x1E, "a".encode("utf-16-be"))))
    return pfx([data_info(seq(secret_bag(*[name] * count)))])


def under_the_limits_pfx(bags: int = 999, attributes: int = 8) -> bytes:
    """As much structure as the limits let through: every attribute is read, none is a name."""
    key_id = seq(oid("1.2.840.113549.1.9.21"), tlv(0x31, tlv(0x04, b"1")))
    return pfx([data_info(seq(*[secret_bag(*[key_id] * attributes)] * bags))])


def huge_parameters_pfx(count: int = 50_000) -> bytes:
    """An encrypted safe whose PBE parameters are a SEQUENCE of `count` INTEGERs."""
    algorithm = seq(PBE_SHA1_3DES, seq(*[integer(1)] * count))
    encrypted = seq(integer(0), seq(ID_DATA, algorithm, tlv(0x80, bytes(16))))
    return pfx([seq(ID_ENCRYPTED_DATA, tlv(0xA0, encrypted))])


def huge_iterations_pfx() -> bytes:
    return pfx([data_info(seq(secret_bag()))], mac_iterations=2**31 - 1)


@cache
def chain(length: int = 25) -> tuple[ec.EllipticCurvePrivateKey, list[x509.Certificate]]:
    """A leaf key and a chain of `length` certificates, leaf first, each issued by the next."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(length)]
    now = datetime.now(UTC)
    certs: list[x509.Certificate] = []
    for index in reversed(range(length)):
        issuer_index = min(index + 1, length - 1)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hostile {index}")])
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"hostile {issuer_index}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer)
            .public_key(keys[index].public_key())
            .serial_number(index + 1)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=index > 0, path_length=None), critical=True)
            .sign(keys[issuer_index], hashes.SHA256())
        )
        certs.insert(0, cert)
    return keys[0], certs


def long_chain_pfx() -> bytes:
    key, certs = chain()
    encryption = serialization.BestAvailableEncryption(PASSWORD.encode())
    return pkcs12.serialize_key_and_certificates(b"hostile", key, certs[0], certs[1:], encryption)


def long_chain_jks() -> bytes:
    key, certs = chain()
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    entry = jks.PrivateKeyEntry.new(
        "hostile", [c.public_bytes(serialization.Encoding.DER) for c in certs], der
    )
    entry.encrypt(PASSWORD)
    return bytes(jks.KeyStore.new("jks", [entry]).saves(PASSWORD))


def jks_claiming_entries(count: int = 2**30) -> bytes:
    return bytes.fromhex("FEEDFEED00000002") + count.to_bytes(4, "big") + bytes(40)


def pem_chain(length: int = 25) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain()[1][:length])


def pem_many_blocks() -> bytes:
    """As many copies of one certificate as fit under 1 MiB."""
    block = chain()[1][0].public_bytes(serialization.Encoding.PEM)
    return block * ((MIB - 1) // len(block))


def key_export(*, kdf: str = "scrypt n=1099511627776 r=8 p=1", data: str = "AAAA") -> bytes:
    """A master key export file (keys/crypto.py's format) with the given kdf and data lines."""
    return (
        "certadmin-master-key-export v1\norg: X\nversion: 1\n"
        f"kdf: {kdf}\nsalt: AAAAAAAAAAAAAAAAAAAAAA==\nkcv: 00000000\n"
        f"check: {'0' * 32}\ndata: {data}\n"
    ).encode()


def truncated_pfx() -> bytes:
    whole = long_chain_pfx()
    return whole[: len(whole) // 2]


#: name -> maker. Every upload path of tests/test_hostile_files.py receives every file.
FILES: dict[str, Callable[[], bytes]] = {
    "zero-length": lambda: b"",
    "over the size cap": lambda: random.Random(1).randbytes(MIB + 1),
    "random bytes": lambda: random.Random(13).randbytes(64 * 1024),
    "not a keystore (text)": lambda: b"%PDF-1.7\nnot a keystore, not a certificate\n" * 100,
    "truncated PKCS#12": truncated_pfx,
    "52,000 empty SafeContents": many_safes_pfx,
    "38,000 secret bags": many_secret_bags_pfx,
    "SafeContents nested 10,000 deep": nested_safe_contents_pfx,
    "BER nested 50,000 deep": lambda: b"\x30\x80" * 50_000,
    "4 GiB length": lambda: b"\x30\x84\xff\xff\xff\xff" + bytes(64),
    "40,000 attributes on one bag": many_attributes_pfx,
    "50,000 INTEGERs in PBE parameters": huge_parameters_pfx,
    "999 bags of 8 attributes (under every limit)": under_the_limits_pfx,
    "2^31 MAC iterations": huge_iterations_pfx,
    "PKCS#12 with a 25-certificate chain": long_chain_pfx,
    "JKS with a 25-certificate chain": long_chain_jks,
    "JKS claiming 2^30 entries": jks_claiming_entries,
    "PEM chain of 25 certificates": pem_chain,
    "PEM of 1,400 certificates": pem_many_blocks,
    "key export with scrypt n=2^40": key_export,
    "key export with a 100 KB data line": lambda: key_export(data="A" * 100_000),
}
