"""The Assertion Consumer Service on a signed, encrypted response, against the floor of the
libraries' own work on the same response: signxml verifying the response signature, xmlsec
decrypting the assertion, signxml verifying the assertion signature. Ratio goal: <= 1.5.

    .venv/bin/python bench/saml.py [--runs 200]

The ACS figure is the whole POST through Django's test client (the view, every check of
certadmin.saml_acs, the request and replay bookkeeping, the user, the login, the audit line,
the redirect). Each run posts a new response answering a new request, as logins do.
"""

import argparse
import base64
import statistics
import time
from datetime import UTC, datetime

import _django

_django.setup("saml")

from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402
from lxml import etree  # noqa: E402
from signxml.verifier import SignatureConfiguration, XMLVerifier  # noqa: E402

from certadmin import crypto, saml, saml_acs  # noqa: E402
from certadmin.models import SamlAuthnRequest, SamlSsoConfig  # noqa: E402
from certadmin.services import certificates, sso_login  # noqa: E402
from orgs import services  # noqa: E402
from orgs.models import Membership  # noqa: E402
from tests.factories import UserFactory  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs

    org = services.create_organization(name="Bench", acting_user=None)
    user = UserFactory(username="bench")
    services.add_member(org=org, user=user, acting_user=None)
    Membership.objects.filter(user=user).update(federation_id="bench@example.test")
    signer = certificates.create_self_signed(
        org=org, label="Signing", unique_name="Signing", key_type="RSA-2048", acting_user=None
    )
    decrypter = certificates.create_self_signed(
        org=org, label="Decrypt", unique_name="Decrypt", key_type="RSA-2048", acting_user=None
    )
    idp_key = crypto.generate_private_key("RSA-2048")
    idp_cert = crypto.build_self_signed(
        idp_key, common_name="idp", org_unit="IdP", org_name="IdP", now=datetime.now(UTC)
    )
    config = SamlSsoConfig.objects.create(
        organization=org,
        name="Bench IdP",
        issuer="https://certadmin.example.test/bench",
        idp_entity_id="https://idp.example.test",
        idp_login_url="https://idp.example.test/sso",
        idp_certificate_pem=crypto.certificate_pem(idp_cert),
        request_signing_certificate=signer,
        assertion_decryption_certificate=decrypter,
    )
    # The ACS URL as the test client's requests name it (links follow the request's host).
    url = reverse("sso-acs", args=[org.public_id, config.uuid])
    acs_url = f"http://testserver{url}"
    decrypt_cert = crypto.parse_certificates(decrypter.chain_pem.encode())[0]
    responses = []
    for n in range(runs):
        request_id = saml.new_id()
        SamlAuthnRequest.objects.create(config=config, request_id=request_id)
        responses.append(
            saml.idp_response(
                issuer=config.idp_entity_id,
                acs_url=acs_url,
                audience=config.issuer,
                in_response_to=request_id,
                name_id="bench@example.test",
                name_id_format=saml.NAMEID_UNSPECIFIED,
                attributes={"email": f"bench{n}@example.test"},
                now=datetime.now(UTC),
                key=idp_key,  # type: ignore[arg-type]
                chain=[idp_cert],
                encrypt_to=decrypt_cert,
            )
        )
    key_pem = sso_login.expected(config, now=datetime.now(UTC)).decryption_key_pem
    assert key_pem is not None

    def floor(raw: bytes) -> None:
        """The libraries alone: verify the response, decrypt, verify the assertion."""
        config_root = SignatureConfiguration(location="./", expect_references=1)
        signed = (
            XMLVerifier()
            .verify(raw, x509_cert=idp_cert, id_attribute="ID", expect_config=config_root)
            .signed_xml
        )  # type: ignore[union-attr]
        data = signed.find(f".//{{{saml_acs.XENC}}}EncryptedData")
        manager = saml_acs.xmlsec.KeysManager()
        manager.add_key(
            saml_acs.xmlsec.Key.from_memory(key_pem, saml_acs.xmlsec.constants.KeyDataFormatPem)
        )
        assertion = saml_acs.xmlsec.EncryptionContext(manager).decrypt(data)
        XMLVerifier().verify(
            etree.tostring(assertion), x509_cert=idp_cert, id_attribute="ID",
            expect_config=config_root,
        )  # fmt: skip

    client = Client()
    acs_ms, floor_ms = [], []
    for raw in responses:  # alternate, so load on the machine hits both alike
        started = time.perf_counter()
        floor(raw)
        floor_ms.append((time.perf_counter() - started) * 1000)
        body = base64.b64encode(raw).decode()
        started = time.perf_counter()
        response = client.post(url, {"SAMLResponse": body})
        acs_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, response.content[:500]
        client.logout()
    acs, base = statistics.median(acs_ms), statistics.median(floor_ms)
    print(f"backend: {_django.backend()}, {runs} signed + encrypted responses (RSA 2048)")
    print(f"ACS POST (view, checks, bookkeeping, login): median {acs:.2f} ms")
    print(f"floor (signxml verify x2 + xmlsec decrypt):  median {base:.2f} ms")
    print(f"RESULT name=saml_acs_ms={acs:.2f} floor={base:.2f} ratio={acs / base:.2f}")


if __name__ == "__main__":
    main()
