"""Certificates for tests: a small CA made with the real openssl command, and quick helpers
built with `cryptography` where dates must be controlled."""

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def openssl(*args: str, cwd: Path, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["openssl", *args], cwd=cwd, input=input, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise AssertionError(f"openssl {' '.join(args)} failed: {result.stderr.decode()}")
    return result.stdout


@dataclass
class OpenSslCa:
    """A root CA and an intermediate CA on disk, made by openssl."""

    workdir: Path

    @classmethod
    def create(cls, workdir: Path) -> "OpenSslCa":
        ca = cls(workdir)
        (workdir / "ext.cnf").write_text(
            "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
            "[leaf]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
        )
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "root.key", "-out", "root.pem", "-days", "3650",
            "-subj", "/CN=Test Root CA/O=Test CA Ltd",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=workdir,
        )  # fmt: skip
        openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "inter.key", "-out", "inter.csr",
            "-subj", "/CN=Test Intermediate CA/O=Test CA Ltd",
            cwd=workdir,
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key",
            "-CAcreateserial", "-out", "inter.pem", "-days", "1825", "-extfile", "ext.cnf",
            "-extensions", "ca", cwd=workdir,
        )  # fmt: skip
        return ca

    def sign(self, csr_pem: str, *, days: int = 365, name: str = "leaf") -> bytes:
        """Sign a CSR with the intermediate; returns the leaf PEM."""
        (self.workdir / f"{name}.csr").write_text(csr_pem)
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "inter.pem", "-CAkey", "inter.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", str(days), "-extfile", "ext.cnf",
            "-extensions", "leaf", cwd=self.workdir,
        )  # fmt: skip
        return (self.workdir / f"{name}.pem").read_bytes()

    @property
    def root_pem(self) -> bytes:
        return (self.workdir / "root.pem").read_bytes()

    @property
    def intermediate_pem(self) -> bytes:
        return (self.workdir / "inter.pem").read_bytes()


def make_certificate(
    *,
    common_name: str = "other.example.test",
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    """A self-signed EC certificate with chosen dates (PEM bytes, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM), key


def sign_with_key(
    csr_pem: str,
    *,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_name: str,
    not_before: datetime,
    not_after: datetime,
) -> bytes:
    """Sign a CSR with a throwaway issuer key and chosen dates (for expired / future leaves)."""
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)
