"""Helpers of the where-used, SSO, Identity Provider and expired-certificate tests.

RSA keys are slow to make (~50 ms) and SAML needs them, so `fast_rsa` hands out a few
pre-generated RSA 2048 keys instead: the certificates stay real, only the keys repeat.
"""

import importlib
import itertools
import shutil
import subprocess
import tempfile
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from certadmin.crypto import building, display, keypairs
from certadmin.models import Certificate, ProxyCertificate, SamlSsoConfig
from certadmin.models.sso import PROXY_RETIRED_AT
from orgs.models import Organization
from tests.certadmin.conftest import self_signed

XMLSEC1 = shutil.which("xmlsec1")
AUTHN_REQUEST_NODE = "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest"
METADATA_NODE = "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"


@cache
def _rsa_keys() -> tuple[keypairs.PrivateKey, ...]:
    return tuple(keypairs.generate_private_key("RSA-2048") for _ in range(3))


@pytest.fixture
def fast_rsa(monkeypatch: pytest.MonkeyPatch) -> None:
    real = keypairs.generate_private_key
    pool = itertools.cycle(_rsa_keys())

    def generate(key_type: str) -> keypairs.PrivateKey:
        return next(pool) if key_type == "RSA-2048" else real(key_type)

    monkeypatch.setattr(keypairs, "generate_private_key", generate)


def rsa_certificate(org: Organization, name: str = "Sso_Signing") -> Certificate:
    return self_signed(org, name=name, key_type="RSA-2048")


def idp_certificate_pem() -> bytes:
    """An identity provider's signing certificate, as an admin uploads it."""
    return idp_certificate_text().encode()


@cache
def idp_certificate_text() -> str:
    key = keypairs.generate_private_key("EC-P256")
    cert = building.build_self_signed(
        key, common_name="idp.example.test", org_unit="IdP", org_name="Example IdP",
        now=timezone.now(),
    )  # fmt: skip
    return display.certificate_pem(cert)


def proxy_certificate() -> ProxyCertificate:
    """The retired proxy certificate. Migration 0003 made it, but a transactional test earlier
    in this process may have flushed the table: then make it again the migration's way."""
    if not ProxyCertificate.objects.exists():
        migration = importlib.import_module("certadmin.migrations.0003_sso")
        migration.create_proxy_certificate(django_apps, None)
    return ProxyCertificate.objects.get()


def make_config(
    org: Organization,
    name: str = "Okta",
    *,
    signer: Certificate | None = None,
    decrypter: Certificate | None = None,
    legacy: bool = False,
) -> SamlSsoConfig:
    """A configuration written straight to the database. `legacy=True` makes one created
    before the proxy certificate's retirement that still signs with it."""
    extra: dict[str, object] = {}
    if legacy:
        extra = {
            "proxy_certificate": proxy_certificate(),
            "created_at": PROXY_RETIRED_AT - timedelta(days=400),
        }
    return SamlSsoConfig.objects.create(
        organization=org,
        name=name,
        issuer=f"https://certadmin.example.test/{name.lower()}",
        idp_entity_id=f"https://idp.example.test/{name.lower()}",
        idp_login_url="https://idp.example.test/sso/saml",
        idp_certificate_pem=idp_certificate_text(),
        idp_certificate_subject="CN=idp.example.test",
        request_signing_certificate=signer,
        assertion_decryption_certificate=decrypter,
        **extra,
    )


def xmlsec1_verify(document: bytes, certificate_pem: str, id_node: str) -> tuple[bool, str]:
    """Verify an enveloped XML-DSig signature with xmlsec1, using only the key of the given
    certificate (`--enabled-key-data rsa`: the KeyInfo in the document is not trusted)."""
    if XMLSEC1 is None:
        pytest.fail("xmlsec1 is missing: run `make system-deps` (make test does it)")
    with tempfile.TemporaryDirectory() as tmp:
        doc, cert = Path(tmp, "doc.xml"), Path(tmp, "cert.pem")
        doc.write_bytes(document)
        cert.write_text(certificate_pem)
        result = subprocess.run(
            [
                XMLSEC1, "--verify", "--enabled-key-data", "rsa",
                "--pubkey-cert-pem", str(cert), "--id-attr:ID", id_node, str(doc),
            ],
            capture_output=True, text=True, check=False, timeout=30,
        )  # fmt: skip
    output = result.stdout + result.stderr
    return result.returncode == 0 and "OK" in output, output
