"""Client certificates made with the real openssl command, for mutual authentication tests.

`ClientCa` is tests.pem.OpenSslCa (a root and an intermediate) with more leaf profiles:
clientAuth only, serverAuth only, both, no extended key usage; expired leaves come from
`openssl ca` with explicit dates; self-signed ones from `openssl req -x509`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pytest_django.fixtures import Settings as SettingsWrapper

from tests.pem import OpenSslCa, openssl

if TYPE_CHECKING:
    from orgs.models import Organization

PROFILES = """
[client]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[server]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
[both]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
[noeku]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
"""

CA_CONFIG = """
[ca]
default_ca = CA_default
[CA_default]
dir = .
database = index.txt
new_certs_dir = issued
serial = serial.txt
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[policy_any]
commonName = supplied
organizationName = optional
"""


@dataclass(frozen=True)
class ClientCertificate:
    """A client's files: the key, its certificate, and the certificate + intermediate."""

    name: str
    key: Path
    cert: Path
    chain: Path  # what the client presents and what Setup's upload takes

    @property
    def chain_pem(self) -> bytes:
        return self.chain.read_bytes()

    @property
    def fingerprint(self) -> str:
        cert = x509.load_pem_x509_certificate(self.cert.read_bytes())
        return cert.fingerprint(hashes.SHA256()).hex()


class ClientCa(OpenSslCa):
    @classmethod
    def create(cls, workdir: Path) -> "ClientCa":
        ca = super().create(workdir)
        with (workdir / "ext.cnf").open("a") as ext:
            ext.write(PROFILES)
        (workdir / "ca.cnf").write_text(CA_CONFIG)
        (workdir / "index.txt").write_text("")
        (workdir / "serial.txt").write_text("1000\n")
        (workdir / "issued").mkdir()
        return ca  # type: ignore[return-value]

    def _key_and_csr(self, name: str) -> None:
        openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/O=Client Ltd/CN={name}",
            cwd=self.workdir,
        )  # fmt: skip

    def _files(self, name: str, *, with_chain: bool = True) -> ClientCertificate:
        cert = self.workdir / f"{name}.pem"
        chain = self.workdir / f"{name}-chain.pem"
        chain.write_bytes(cert.read_bytes() + (self.intermediate_pem if with_chain else b""))
        return ClientCertificate(name, self.workdir / f"{name}.key", cert, chain)

    def issue(self, name: str, profile: str = "client", *, days: int = 365) -> ClientCertificate:
        """A leaf signed by the intermediate with one of the PROFILES."""
        self._key_and_csr(name)
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "inter.pem", "-CAkey", "inter.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", str(days),
            "-extfile", "ext.cnf", "-extensions", profile, cwd=self.workdir,
        )  # fmt: skip
        return self._files(name)

    def issue_expired(self, name: str, profile: str = "client") -> ClientCertificate:
        """A clientAuth leaf that expired in 2021 (dates set with `openssl ca`)."""
        self._key_and_csr(name)
        openssl(
            "ca", "-batch", "-config", "ca.cnf", "-cert", "inter.pem", "-keyfile", "inter.key",
            "-in", f"{name}.csr", "-out", f"{name}.pem", "-notext",
            "-startdate", "20200101000000Z", "-enddate", "20210101000000Z",
            "-extfile", "ext.cnf", "-extensions", profile, cwd=self.workdir,
        )  # fmt: skip
        return self._files(name)

    def self_signed(self, name: str) -> ClientCertificate:
        """A self-signed certificate with clientAuth."""
        openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "365",
            "-subj", f"/O=Self Ltd/CN={name}", "-addext", "extendedKeyUsage=clientAuth",
            "-addext", "basicConstraints=CA:FALSE", cwd=self.workdir,
        )  # fmt: skip
        return self._files(name, with_chain=False)

    def bundle(self) -> Path:
        """A trust bundle holding this CA's root (for CERTADMIN_MTLS_TRUST_BUNDLE)."""
        path = self.workdir / "trust-bundle.pem"
        path.write_bytes(self.root_pem)
        return path


# --- fixtures (import them into a test module or conftest to use them) ------------------------


@pytest.fixture(scope="session")
def client_ca(tmp_path_factory: pytest.TempPathFactory) -> ClientCa:
    return ClientCa.create(tmp_path_factory.mktemp("client-ca"))


@pytest.fixture(scope="session")
def client_certs(client_ca: ClientCa) -> dict[str, ClientCertificate]:
    """Every kind of client certificate the tests need, made once per session."""
    return {
        "acme": client_ca.issue("acme-client"),
        "acme2": client_ca.issue("acme-client-2"),
        "globex": client_ca.issue("globex-client"),
        "unknown": client_ca.issue("unknown-client"),
        "server_only": client_ca.issue("server-only", "server"),
        "both": client_ca.issue("both-usages", "both"),
        "no_eku": client_ca.issue("no-eku", "noeku"),
        "expired": client_ca.issue_expired("expired-client"),
        "self_signed": client_ca.self_signed("self-signed-client"),
    }


@pytest.fixture
def trust_client_ca(settings: SettingsWrapper, client_ca: ClientCa) -> ClientCa:
    """Make the client CA's root the trust bundle of mutual authentication uploads."""
    settings.CERTADMIN_MTLS_TRUST_BUNDLE = str(client_ca.bundle())
    return client_ca


def register_expired(org: "Organization", client: ClientCertificate, label: str) -> None:
    """Store `client` (an expired leaf) as its upload before it expired would have.

    The test CA is made today, after the expired leaf's dates, so that chain was never valid
    at one moment and no upload passes path validation for it; the row is what matters to
    the tests that present an expired certificate.
    """
    from certadmin.models import MutualAuthCertificate

    certificate = MutualAuthCertificate(
        organization=org, label=label, unique_name=f"Client_{label}"
    )
    certificate.apply_chain(x509.load_pem_x509_certificates(client.chain_pem))
    certificate.save()
