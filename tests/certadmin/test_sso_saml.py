"""Signed SAML documents, verified by an independent tool (xmlsec1) with the certificate the
page shows: SP metadata, AuthnRequests (RSA-SHA256 and RSA-SHA1) and IdP metadata."""

import base64
import html
import re
from datetime import UTC, datetime

import pytest
from cryptography import x509
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from lxml import etree

from certadmin import saml
from certadmin.crypto import building, display, keypairs
from certadmin.services import sso
from orgs.models import Organization
from tests.certadmin.sso_helpers import (  # noqa: F401
    AUTHN_REQUEST_NODE,
    METADATA_NODE,
    fast_rsa,
    make_config,
    proxy_certificate,
    rsa_certificate,
    xmlsec1_verify,
)
from tests.conftest import grant

pytestmark = pytest.mark.usefixtures("fast_rsa")
NS = {"md": saml.MD, "ds": saml.DS, "samlp": saml.SAMLP, "saml": saml.SAML}


@pytest.fixture
def sso_client(client: Client, acme: Organization, alice: User) -> Client:
    grant(acme, alice, "customize_application")
    client.force_login(alice)
    return client


def _shown_pem(client: Client, url: str, element_id: str) -> str:
    """The certificate PEM a page shows in <pre id=...>."""
    page = client.get(url).content.decode()
    found = re.search(rf'<pre id="{element_id}">(.*?)</pre>', page, re.DOTALL)
    assert found, f"no #{element_id} on {url}"
    return html.unescape(found.group(1))


def _download(client: Client, name: str, org: Organization, *args: object) -> bytes:
    response = client.get(reverse(f"certadmin:{name}", args=[org.public_id, *args]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return response.content


def _embedded(document: bytes, xpath: str) -> x509.Certificate:
    b64 = etree.fromstring(document).xpath(xpath, namespaces=NS)[0].text
    return x509.load_der_x509_certificate(base64.b64decode(b64))


@pytest.mark.parametrize("method", ["RSA-SHA256", "RSA-SHA1"])
def test_authn_request_verifies_with_the_certificate_the_page_shows(
    sso_client: Client, acme: Organization, method: str
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))
    config.signature_method = method
    config.save()
    shown = _shown_pem(sso_client, config.get_absolute_url(), "request-signing-certificate-pem")

    request = _download(sso_client, "sso-authn-request", acme, config.uuid)

    ok, output = xmlsec1_verify(request, shown, AUTHN_REQUEST_NODE)
    assert ok, output
    root = etree.fromstring(request)
    assert root.get("Destination") == config.idp_login_url
    assert root.findtext("saml:Issuer", namespaces=NS) == config.issuer
    # SAML's schema wants the signature right after the Issuer.
    assert etree.QName(root[1]).localname == "Signature"
    algorithm = root.xpath("ds:Signature/ds:SignedInfo/ds:SignatureMethod", namespaces=NS)[0]
    assert algorithm.get("Algorithm").endswith(
        "rsa-sha256" if method == "RSA-SHA256" else "rsa-sha1"
    )


def test_sp_metadata_carries_and_verifies_with_the_request_signing_certificate(
    sso_client: Client, acme: Organization
) -> None:
    signer = rsa_certificate(acme)
    decrypter = rsa_certificate(acme, "Decrypter")
    config = make_config(acme, signer=signer, decrypter=decrypter)
    shown = _shown_pem(sso_client, config.get_absolute_url(), "request-signing-certificate-pem")

    metadata = _download(sso_client, "sso-metadata", acme, config.uuid)

    ok, output = xmlsec1_verify(metadata, shown, METADATA_NODE)
    assert ok, output
    signing = _embedded(metadata, "//md:KeyDescriptor[@use='signing']//ds:X509Certificate")
    encryption = _embedded(metadata, "//md:KeyDescriptor[@use='encryption']//ds:X509Certificate")
    assert display.certificate_pem(signing) == shown
    assert display.fingerprint_hex(encryption) == decrypter.fingerprint_sha256
    root = etree.fromstring(metadata)
    assert root.get("entityID") == config.issuer
    assert root.xpath("//md:SPSSODescriptor/@AuthnRequestsSigned", namespaces=NS) == ["true"]


def test_a_legacy_configuration_signs_with_the_retired_proxy_certificate_it_shows(
    sso_client: Client, acme: Organization
) -> None:
    config = make_config(acme, legacy=True)
    shown = _shown_pem(sso_client, config.get_absolute_url(), "request-signing-certificate-pem")

    request = _download(sso_client, "sso-authn-request", acme, config.uuid)

    assert shown == sso.certificate_pem(proxy_certificate())
    ok, output = xmlsec1_verify(request, shown, AUTHN_REQUEST_NODE)
    assert ok, output


def test_a_tampered_request_or_another_certificate_fails_verification(
    sso_client: Client, acme: Organization
) -> None:
    config = make_config(acme, signer=rsa_certificate(acme))
    request = _download(sso_client, "sso-authn-request", acme, config.uuid)
    shown = _shown_pem(sso_client, config.get_absolute_url(), "request-signing-certificate-pem")
    other_key = keypairs.generate_private_key("RSA-3072")
    other = display.certificate_pem(
        building.build_self_signed(
            other_key, common_name="Other", org_unit="x", org_name="x", now=datetime.now(UTC)
        )
    )

    tampered = request.replace(config.idp_login_url.encode(), b"https://evil.test/sso")

    assert not xmlsec1_verify(tampered, shown, AUTHN_REQUEST_NODE)[0]
    assert not xmlsec1_verify(request, other, AUTHN_REQUEST_NODE)[0]


def test_idp_metadata_verifies_with_the_certificate_the_page_shows(
    sso_client: Client, acme: Organization, alice: User
) -> None:
    certificate = rsa_certificate(acme, "Idp_Signing")
    sso.enable_identity_provider(org=acme, certificate=certificate, acting_user=alice)
    settings_url = reverse("certadmin:idp-settings", args=[acme.public_id])
    shown = _shown_pem(sso_client, settings_url, "idp-certificate-pem")

    metadata = _download(sso_client, "idp-metadata", acme)

    ok, output = xmlsec1_verify(metadata, shown, METADATA_NODE)
    assert ok, output
    signing = _embedded(metadata, "//md:IDPSSODescriptor/md:KeyDescriptor//ds:X509Certificate")
    assert display.fingerprint_hex(signing) == certificate.fingerprint_sha256
    assert etree.fromstring(metadata).get("entityID") == f"http://testserver/o/{acme.public_id}/idp"


def test_saml_signing_refuses_an_ecdsa_key_and_unknown_methods() -> None:
    key = keypairs.generate_private_key("EC-P256")
    cert = building.build_self_signed(
        key, common_name="x", org_unit="x", org_name="x", now=datetime.now(UTC)
    )
    root = etree.Element(f"{{{saml.SAMLP}}}AuthnRequest", ID=saml.new_id())

    with pytest.raises(TypeError, match="RSA key"):
        saml.sign(root, key=key, chain=[cert])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown signature method"):
        saml.sign(root, key=key, chain=[cert], method="RSA-MD5")  # type: ignore[arg-type]


def test_ids_are_valid_xml_ids_and_unique() -> None:
    ids = {saml.new_id() for _ in range(100)}

    assert len(ids) == 100
    assert all(re.fullmatch(r"_[0-9a-f]{40}", i) for i in ids)
