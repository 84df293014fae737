"""The other side of SAML in the tests: a pysaml2 identity provider that answers our
AuthnRequests, a pysaml2 service provider that consumes our Identity Provider's responses, and
a crafter of hostile responses signed with the identity provider's real key (signxml), so each
attack differs from a valid response by the one thing it tests."""

import base64
import copy
import tempfile
import warnings
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone
from lxml import etree

from certadmin import saml
from certadmin.crypto import building, display, keypairs
from certadmin.saml import SAML, SAMLP

with warnings.catch_warnings():  # pysaml2 still names a cipher mode cryptography moved
    warnings.simplefilter("ignore")
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.config import IdPConfig
    from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
    from saml2.server import Server
    from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

XMLSEC1 = "/usr/bin/xmlsec1"
IDP_ENTITY_ID = "https://idp.example.test/idp"
IDP_LOGIN_URL = "https://idp.example.test/sso"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"


@cache
def idp_key_and_certificate() -> tuple[keypairs.PrivateKey, x509.Certificate]:
    """The test identity provider's RSA key and self-signed certificate (made once)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not fast_rsa's pool
    cert = building.build_self_signed(
        key, common_name="idp.example.test", org_unit="IdP", org_name="Example IdP",
        now=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    return key, cert


@cache
def other_key_and_certificate() -> tuple[keypairs.PrivateKey, x509.Certificate]:
    """A key the configuration does not trust (the "signed by another key" attack)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # not fast_rsa's pool
    cert = building.build_self_signed(
        key, common_name="idp.example.test", org_unit="IdP", org_name="Example IdP",
        now=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    return key, cert


def idp_certificate_pem() -> str:
    return display.certificate_pem(idp_key_and_certificate()[1])


@cache
def _idp_files() -> tuple[str, str]:
    key, cert = idp_key_and_certificate()
    folder = Path(tempfile.mkdtemp(prefix="pysaml2-idp-"))
    key_file, cert_file = folder / "idp.key", folder / "idp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_text(display.certificate_pem(cert))
    return str(key_file), str(cert_file)


def pysaml2_idp(sp_metadata: bytes) -> Server:
    """A pysaml2 IdP that knows our SP from its metadata (as an admin would upload it)."""
    key_file, cert_file = _idp_files()
    config = IdPConfig()
    config.load(
        {
            "entityid": IDP_ENTITY_ID,
            "key_file": key_file,
            "cert_file": cert_file,
            "xmlsec_binary": XMLSEC1,
            "service": {
                "idp": {
                    "endpoints": {
                        "single_sign_on_service": [
                            (IDP_LOGIN_URL, BINDING_HTTP_REDIRECT),
                            (IDP_LOGIN_URL, BINDING_HTTP_POST),
                        ]
                    },
                    "policy": {"default": {"lifetime": {"minutes": 5}}},
                    "name_id_format": [NAMEID_FORMAT_UNSPECIFIED],
                    "want_authn_requests_signed": True,
                }
            },
            "metadata": {"inline": [sp_metadata.decode()]},
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Server(config=config)


def answer_redirect(
    idp: Server,
    location: str,
    *,
    name_id: str,
    sign_response: bool = True,
    sign_assertion: bool = True,
    encrypt_to: str | None = None,
) -> tuple[str, str, str]:
    """What the pysaml2 IdP does with our HTTP-Redirect AuthnRequest: parse it, verify its
    signature with the certificate of our SP metadata, and answer it. Returns (ACS URL,
    SAMLResponse, request id)."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        request = idp.parse_authn_request(
            query["SAMLRequest"],
            BINDING_HTTP_REDIRECT,
            relay_state=query.get("RelayState"),
            sigalg=query["SigAlg"],
            signature=query["Signature"],
        )
        message = request.message
        response = idp.create_authn_response(
            identity={"mail": [f"{name_id}"]},
            in_response_to=message.id,
            destination=message.assertion_consumer_service_url,
            sp_entity_id=message.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=name_id),
            sign_response=sign_response,
            sign_assertion=sign_assertion,
            encrypt_assertion=encrypt_to is not None,
            encrypt_cert_assertion=encrypt_to,
            encrypt_assertion_self_contained=True,
            sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
    body = base64.b64encode(str(response).encode()).decode()
    return message.assertion_consumer_service_url, body, message.id


# --- crafted responses -------------------------------------------------------------------------


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build_response(
    *,
    acs_url: str,
    audience: str,
    name_id: str,
    in_response_to: str | None,
    now: datetime | None = None,
    issuer: str = IDP_ENTITY_ID,
    destination: str | None = None,
    recipient: str | None = None,
    not_on_or_after: datetime | None = None,
) -> etree._Element:
    """An unsigned Response with one Assertion, every value right unless overridden."""
    now = now or timezone.now()
    until = not_on_or_after or now + timedelta(minutes=5)
    response = etree.Element(
        f"{{{SAMLP}}}Response",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=saml.new_id(),
        Version="2.0",
        IssueInstant=_utc(now),
        Destination=destination or acs_url,
    )
    if in_response_to:
        response.set("InResponseTo", in_response_to)
    etree.SubElement(response, f"{{{SAML}}}Issuer").text = issuer
    status = etree.SubElement(response, f"{{{SAMLP}}}Status")
    etree.SubElement(
        status, f"{{{SAMLP}}}StatusCode", Value="urn:oasis:names:tc:SAML:2.0:status:Success"
    )
    assertion = etree.SubElement(
        response, f"{{{SAML}}}Assertion", ID=saml.new_id(), Version="2.0", IssueInstant=_utc(now)
    )
    etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = issuer
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID", Format=saml.NAMEID_UNSPECIFIED).text = name_id
    confirmation = etree.SubElement(subject, f"{{{SAML}}}SubjectConfirmation", Method=BEARER)
    data = etree.SubElement(
        confirmation,
        f"{{{SAML}}}SubjectConfirmationData",
        NotOnOrAfter=_utc(until),
        Recipient=recipient or acs_url,
    )
    if in_response_to:
        data.set("InResponseTo", in_response_to)
    conditions = etree.SubElement(
        assertion,
        f"{{{SAML}}}Conditions",
        NotBefore=_utc(now - timedelta(seconds=30)),
        NotOnOrAfter=_utc(until),
    )
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = audience
    statement = etree.SubElement(
        assertion, f"{{{SAML}}}AuthnStatement", AuthnInstant=_utc(now), SessionIndex="1"
    )
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    etree.SubElement(
        context, f"{{{SAML}}}AuthnContextClassRef"
    ).text = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
    return response


def sign_element(element: etree._Element, key: Any = None, cert: Any = None) -> etree._Element:
    """`element` with an enveloped signature after its Issuer (the IdP's key by default)."""
    if key is None:
        key, cert = idp_key_and_certificate()
    signed = saml.sign(copy.deepcopy(element), key=key, chain=[cert], position=1)
    return etree.fromstring(signed)


def sign_assertion(response: etree._Element, key: Any = None, cert: Any = None) -> etree._Element:
    """The response with its assertion signed (in place of the unsigned one)."""
    assertion = response.find(f"{{{SAML}}}Assertion")
    assert assertion is not None
    response.replace(assertion, sign_element(assertion, key, cert))
    return response


def post_value(element: etree._Element | bytes) -> str:
    body = element if isinstance(element, bytes) else etree.tostring(element)
    return base64.b64encode(body).decode()


# --- a pysaml2 service provider (the other side of our Identity Provider) ----------------------

SP_ENTITY_ID = "https://app.example.test/sp"
SP_ACS_URL = "https://app.example.test/acs"


@cache
def sp_key_and_certificate() -> tuple[keypairs.PrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = building.build_self_signed(
        key, common_name="app.example.test", org_unit="SP", org_name="Example App",
        now=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    return key, cert


@cache
def _sp_files() -> tuple[str, str]:
    key, cert = sp_key_and_certificate()
    folder = Path(tempfile.mkdtemp(prefix="pysaml2-sp-"))
    key_file, cert_file = folder / "sp.key", folder / "sp.crt"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_text(display.certificate_pem(cert))
    return str(key_file), str(cert_file)


def pysaml2_sp(idp_metadata: bytes) -> Any:
    """A pysaml2 SP that signs its requests, wants signed responses and assertions, and
    decrypts assertions encrypted to its certificate."""
    from saml2.client import Saml2Client
    from saml2.config import SPConfig

    key_file, cert_file = _sp_files()
    config = SPConfig()
    config.load(
        {
            "entityid": SP_ENTITY_ID,
            "key_file": key_file,
            "cert_file": cert_file,
            "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
            "xmlsec_binary": XMLSEC1,
            "service": {
                "sp": {
                    "endpoints": {"assertion_consumer_service": [(SP_ACS_URL, BINDING_HTTP_POST)]},
                    "authn_requests_signed": True,
                    "want_response_signed": True,
                    "want_assertions_signed": True,
                    "allow_unsolicited": True,
                    "allow_unknown_attributes": True,
                }
            },
            "metadata": {"inline": [idp_metadata.decode()]},
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Saml2Client(config=config)
