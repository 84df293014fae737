"""SAML 2.0 documents: SP and IdP metadata and signed AuthnRequests (pure: lxml + signxml).

Every document is signed with an enveloped XML-DSig signature that references the root's
`ID` (exclusive C14N, as the SAML profiles ask) and carries the signing certificate in its
KeyInfo. Callers pass a loaded key object: signxml re-parses and re-validates a PEM key on
every call (PERFORMANCE.md: 0.7 ms vs 38 ms per signature).
"""

import base64
import secrets
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput
from signxml.signer import XMLSigner

from certadmin.held import Held

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
HTTP_POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
HTTP_REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
NAMEID_EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
# Metadata tells its readers to fetch it again within this time.
METADATA_VALIDITY = timedelta(days=30)

RSA_SHA256 = "RSA-SHA256"
RSA_SHA1 = "RSA-SHA1"
_ALGORITHMS = {
    RSA_SHA256: (SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256),
    RSA_SHA1: (SignatureMethod.RSA_SHA1, DigestAlgorithm.SHA1),
}


class _Signer(XMLSigner):
    """signxml refuses SHA-1 unless told otherwise. Some identity providers still require
    RSA-SHA1 request signatures, so it stays a choice an admin makes knowingly (the form
    calls it the weaker one); nothing else in the project signs with SHA-1."""

    def check_deprecated_methods(self) -> None:
        if self.sign_alg not in {method for method, _ in _ALGORITHMS.values()}:
            raise InvalidInput(f"Unsupported signature method {self.sign_alg.name}.")


def new_id() -> str:
    """An xsd:ID for a SAML document (must not start with a digit): "_" + 160 random bits."""
    return "_" + secrets.token_hex(20)


def _utc(moment: datetime) -> str:
    """SAML's dateTime: UTC with "Z", no fractional seconds."""
    if moment.tzinfo is None:
        raise ValueError("Times must be timezone-aware.")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cert_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def _key_descriptor(parent: etree._Element, use: str, cert: x509.Certificate) -> None:
    descriptor = etree.SubElement(parent, f"{{{MD}}}KeyDescriptor", use=use)
    key_info = etree.SubElement(descriptor, f"{{{DS}}}KeyInfo")
    data = etree.SubElement(key_info, f"{{{DS}}}X509Data")
    etree.SubElement(data, f"{{{DS}}}X509Certificate").text = _cert_b64(cert)


def sign(
    root: etree._Element,
    *,
    key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
    method: str = RSA_SHA256,
    position: int = 0,
) -> bytes:
    """Sign `root` (which has an `ID`) with an enveloped signature placed as its child number
    `position`, and return the serialized document."""
    if method not in _ALGORITHMS:
        raise ValueError(f"Unknown signature method {method!r}: use RSA-SHA256 or RSA-SHA1.")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("SAML request signatures need an RSA key.")
    placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
    root.insert(position, placeholder)
    signature_method, digest = _ALGORITHMS[method]
    signer = _Signer(
        signature_algorithm=signature_method,
        digest_algorithm=digest,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signer.namespaces = {"ds": DS}
    signed = signer.sign(
        root, key=key, cert=chain, reference_uri="#" + root.get("ID", ""), id_attribute="ID"
    )
    # lxml ships no types; tostring() with an encoding returns the document as bytes.
    return cast(bytes, etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def authn_request(
    *,
    request_id: str,
    issuer: str,
    destination: str,
    acs_url: str,
    issue_instant: datetime,
    key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
    method: str = RSA_SHA256,
) -> bytes:
    """A signed <samlp:AuthnRequest> for the HTTP-POST binding (signature after the Issuer)."""
    root = etree.Element(
        f"{{{SAMLP}}}AuthnRequest",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=_utc(issue_instant),
        Destination=destination,
        AssertionConsumerServiceURL=acs_url,
        ProtocolBinding=HTTP_POST,
    )
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    etree.SubElement(
        root, f"{{{SAMLP}}}NameIDPolicy", Format=NAMEID_UNSPECIFIED, AllowCreate="true"
    )
    return sign(root, key=key, chain=chain, method=method, position=1)


# The SigAlg values of the HTTP-Redirect binding (SAML bindings 3.4.4.1).
REDIRECT_SIG_ALGS = {
    RSA_SHA256: ("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", hashes.SHA256),
    RSA_SHA1: ("http://www.w3.org/2000/09/xmldsig#rsa-sha1", hashes.SHA1),
}


def authn_request_unsigned(
    *, request_id: str, issuer: str, destination: str, acs_url: str, issue_instant: datetime
) -> bytes:
    """An <samlp:AuthnRequest> for the HTTP-Redirect binding, whose signature is over the
    query string instead of inside the XML."""
    root = etree.Element(
        f"{{{SAMLP}}}AuthnRequest",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=request_id,
        Version="2.0",
        IssueInstant=_utc(issue_instant),
        Destination=destination,
        AssertionConsumerServiceURL=acs_url,
        ProtocolBinding=HTTP_POST,
    )
    etree.SubElement(root, f"{{{SAML}}}Issuer").text = issuer
    etree.SubElement(
        root, f"{{{SAMLP}}}NameIDPolicy", Format=NAMEID_UNSPECIFIED, AllowCreate="true"
    )
    return cast(bytes, etree.tostring(root, encoding="UTF-8"))


def redirect_url(
    *,
    location: str,
    message: bytes,
    relay_state: str,
    key: rsa.RSAPrivateKey,
    method: str = RSA_SHA256,
    parameter: str = "SAMLRequest",
) -> str:
    """`location` with the HTTP-Redirect binding's query: the message deflated and base64ed,
    RelayState, SigAlg and the RSA signature over exactly those encoded octets."""
    sig_alg, digest = REDIRECT_SIG_ALGS[method]
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw DEFLATE, no zlib header
    encoded = base64.b64encode(deflater.compress(message) + deflater.flush()).decode("ascii")
    query = f"{parameter}={quote(encoded, safe='')}"
    if relay_state:
        query += f"&RelayState={quote(relay_state, safe='')}"
    query += f"&SigAlg={quote(sig_alg, safe='')}"
    signature = key.sign(query.encode("ascii"), padding.PKCS1v15(), digest())
    query += f"&Signature={quote(base64.b64encode(signature).decode('ascii'), safe='')}"
    return f"{location}{'&' if '?' in location else '?'}{query}"


def _entity_descriptor(entity_id: str, now: datetime) -> etree._Element:
    """The root of a metadata document, valid for METADATA_VALIDITY from `now`."""
    return etree.Element(
        f"{{{MD}}}EntityDescriptor",
        nsmap={"md": MD, "ds": DS},
        ID=new_id(),
        entityID=entity_id,
        validUntil=_utc(now + METADATA_VALIDITY),
    )


def sp_metadata(
    *,
    entity_id: str,
    acs_url: str,
    signing_chain: list[x509.Certificate],
    decryption_certificate: x509.Certificate | None,
    key: rsa.RSAPrivateKey,
    method: str,
    now: datetime,
) -> bytes:
    """Signed service-provider metadata naming the request-signing certificate."""
    root = _entity_descriptor(entity_id, now)
    sp = etree.SubElement(
        root,
        f"{{{MD}}}SPSSODescriptor",
        AuthnRequestsSigned="true",
        WantAssertionsSigned="true",
        protocolSupportEnumeration=SAMLP,
    )
    _key_descriptor(sp, "signing", signing_chain[0])
    if decryption_certificate is not None:
        _key_descriptor(sp, "encryption", decryption_certificate)
    etree.SubElement(sp, f"{{{MD}}}NameIDFormat").text = NAMEID_UNSPECIFIED
    etree.SubElement(
        sp,
        f"{{{MD}}}AssertionConsumerService",
        Binding=HTTP_POST,
        Location=acs_url,
        index="0",
        isDefault="true",
    )
    return sign(root, key=key, chain=signing_chain, method=method)


def idp_metadata(
    *,
    entity_id: str,
    sso_url: str,
    chain: list[x509.Certificate],
    key: rsa.RSAPrivateKey,
    now: datetime,
) -> bytes:
    """Signed identity-provider metadata naming the IdP's signing certificate."""
    root = _entity_descriptor(entity_id, now)
    idp = etree.SubElement(
        root,
        f"{{{MD}}}IDPSSODescriptor",
        WantAuthnRequestsSigned="true",
        protocolSupportEnumeration=SAMLP,
    )
    _key_descriptor(idp, "signing", chain[0])
    etree.SubElement(idp, f"{{{MD}}}NameIDFormat").text = NAMEID_EMAIL
    etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=HTTP_POST, Location=sso_url)
    etree.SubElement(idp, f"{{{MD}}}SingleSignOnService", Binding=HTTP_REDIRECT, Location=sso_url)
    return sign(root, key=key, chain=chain)


# --- the Identity Provider's responses ---------------------------------------------------------

XENC = "http://www.w3.org/2001/04/xmlenc#"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
ATTRNAME_BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
PASSWORD_PROTECTED = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
# How long a response and its assertion are good for.
ASSERTION_LIFETIME = timedelta(minutes=5)


# Per thread, the xmlsec key managers of the service provider certificates assertions were
# lately encrypted to: making one costs ~20 ms (xmlsec loads the system's CA bundle into it).
_encryption_managers: Held[Any] = Held(32, per_thread=True)


def _encryption_keys(certificate: x509.Certificate) -> Any:
    """An xmlsec key manager holding `certificate`'s public key (kept, certadmin.held)."""
    import xmlsec

    def build() -> Any:
        manager = xmlsec.KeysManager()
        manager.add_key(
            xmlsec.Key.from_memory(
                certificate.public_bytes(serialization.Encoding.PEM),
                xmlsec.constants.KeyDataFormatCertPem,
            )
        )
        return manager

    return _encryption_managers.get(certificate.fingerprint(hashes.SHA256()), build)


def _encrypt_assertion(assertion: etree._Element, certificate: x509.Certificate) -> etree._Element:
    """<saml:EncryptedAssertion> of `assertion` for `certificate`'s key: AES-256-CBC data key
    wrapped with RSA-OAEP, by xmlsec (libxmlsec1) from its templates."""
    import xmlsec

    # The assertion is the root of its own document: xmlsec serializes the node it encrypts
    # as it stands, so every namespace it uses must be declared on it.
    document = etree.fromstring(etree.tostring(assertion))
    template = xmlsec.template.encrypted_data_create(
        document, xmlsec.constants.TransformAes256Cbc, type=xmlsec.constants.TypeEncElement,
        ns="xenc",
    )  # fmt: skip
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="ds")
    encrypted_key = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(encrypted_key)
    context = xmlsec.EncryptionContext(_encryption_keys(certificate))
    context.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, 256, xmlsec.constants.KeyDataTypeSession
    )
    encrypted = context.encrypt_xml(template, document)
    wrapper = etree.Element(f"{{{SAML}}}EncryptedAssertion", nsmap={"saml": SAML})
    wrapper.append(encrypted)
    return wrapper


def idp_response(
    *,
    issuer: str,
    acs_url: str,
    audience: str,
    in_response_to: str | None,
    name_id: str,
    name_id_format: str,
    attributes: dict[str, str],
    now: datetime,
    key: rsa.RSAPrivateKey,
    chain: list[x509.Certificate],
    encrypt_to: x509.Certificate | None = None,
    session_index: str = "",
) -> bytes:
    """A <samlp:Response> whose assertion is signed (then encrypted to `encrypt_to` if given)
    and which is itself signed, both with the Identity Provider's key (RSA-SHA256)."""
    until = now + ASSERTION_LIFETIME
    response = etree.Element(
        f"{{{SAMLP}}}Response",
        nsmap={"samlp": SAMLP, "saml": SAML},
        ID=new_id(),
        Version="2.0",
        IssueInstant=_utc(now),
        Destination=acs_url,
    )
    if in_response_to:
        response.set("InResponseTo", in_response_to)
    etree.SubElement(response, f"{{{SAML}}}Issuer").text = issuer
    status = etree.SubElement(response, f"{{{SAMLP}}}Status")
    etree.SubElement(status, f"{{{SAMLP}}}StatusCode", Value=SUCCESS)

    assertion = etree.Element(
        f"{{{SAML}}}Assertion",
        nsmap={"saml": SAML},
        ID=new_id(),
        Version="2.0",
        IssueInstant=_utc(now),
    )
    etree.SubElement(assertion, f"{{{SAML}}}Issuer").text = issuer
    subject = etree.SubElement(assertion, f"{{{SAML}}}Subject")
    etree.SubElement(subject, f"{{{SAML}}}NameID", Format=name_id_format).text = name_id
    confirmation = etree.SubElement(subject, f"{{{SAML}}}SubjectConfirmation", Method=BEARER)
    data = etree.SubElement(
        confirmation,
        f"{{{SAML}}}SubjectConfirmationData",
        NotOnOrAfter=_utc(until),
        Recipient=acs_url,
    )
    if in_response_to:
        data.set("InResponseTo", in_response_to)
    conditions = etree.SubElement(
        assertion, f"{{{SAML}}}Conditions", NotBefore=_utc(now), NotOnOrAfter=_utc(until)
    )
    restriction = etree.SubElement(conditions, f"{{{SAML}}}AudienceRestriction")
    etree.SubElement(restriction, f"{{{SAML}}}Audience").text = audience
    statement = etree.SubElement(
        assertion,
        f"{{{SAML}}}AuthnStatement",
        AuthnInstant=_utc(now),
        SessionIndex=session_index or new_id(),
    )
    context = etree.SubElement(statement, f"{{{SAML}}}AuthnContext")
    etree.SubElement(context, f"{{{SAML}}}AuthnContextClassRef").text = PASSWORD_PROTECTED
    if attributes:
        attribute_statement = etree.SubElement(assertion, f"{{{SAML}}}AttributeStatement")
        for name, value in attributes.items():
            attribute = etree.SubElement(
                attribute_statement,
                f"{{{SAML}}}Attribute",
                Name=name,
                NameFormat=ATTRNAME_BASIC,
            )
            etree.SubElement(attribute, f"{{{SAML}}}AttributeValue").text = value

    signed_assertion = etree.fromstring(sign(assertion, key=key, chain=chain, position=1))
    if encrypt_to is not None:
        response.append(_encrypt_assertion(signed_assertion, encrypt_to))
    else:
        response.append(signed_assertion)
    return sign(response, key=key, chain=chain, position=1)


def parse_redirect_request(saml_request: str) -> bytes:
    """The XML of an HTTP-Redirect binding's SAMLRequest (base64 of raw DEFLATE), at most
    256 KiB inflated; ValueError otherwise."""
    try:
        deflated = base64.b64decode(saml_request, validate=False)
        inflater = zlib.decompressobj(-15)
        xml = inflater.decompress(deflated, 256 * 1024)
    except (ValueError, zlib.error) as exc:
        raise ValueError("The SAMLRequest is not a deflated, base64-encoded message.") from exc
    if inflater.unconsumed_tail:
        raise ValueError("The SAMLRequest is too large.")
    return xml


# The parameters of the HTTP-Redirect binding (SAML bindings 3.4.4).
REDIRECT_PARAMETERS = ("SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature")


def _redirect_parts(query_string: str) -> dict[str, str]:
    """The binding's parameters of a query string, as received (still URL-encoded), by name.
    Names are decoded the way any web framework decodes them (`SAML%52equest` is SAMLRequest),
    and a parameter given twice is refused, so what is verified is what is then read."""
    from urllib.parse import unquote_plus

    parts: dict[str, str] = {}
    for part in query_string.split("&"):
        raw_name, _, value = part.partition("=")
        name = unquote_plus(raw_name)
        if name not in REDIRECT_PARAMETERS:
            continue
        if name in parts:
            raise ValueError(f"The query gives {name} twice.")
        parts[name] = value
    return parts


def redirect_values(query_string: str) -> dict[str, str]:
    """The binding's parameters of an HTTP-Redirect query, decoded (ValueError as above):
    read them from here, never from request.GET, which would take a second, unsigned one."""
    from urllib.parse import unquote_plus

    return {name: unquote_plus(value) for name, value in _redirect_parts(query_string).items()}


def verify_redirect_signature(
    query_string: str, certificate: x509.Certificate, *, parameter: str = "SAMLRequest"
) -> None:
    """Check an HTTP-Redirect binding signature over the octets of the query string as
    received (SAML bindings 3.4.4.1); ValueError when it is missing or does not verify."""
    from urllib.parse import unquote

    parts = _redirect_parts(query_string)
    if "Signature" not in parts or "SigAlg" not in parts or parameter not in parts:
        raise ValueError("The request is not signed.")
    signed = "&".join(
        f"{name}={parts[name]}" for name in (parameter, "RelayState", "SigAlg") if name in parts
    )
    sig_alg = unquote(parts["SigAlg"])
    digests = dict(REDIRECT_SIG_ALGS.values())
    if sig_alg not in digests or sig_alg.endswith("rsa-sha1"):
        raise ValueError("The request's signature algorithm is not RSA-SHA256.")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ValueError("The service provider certificate has no RSA key.")  # noqa: TRY004
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(
            base64.b64decode(unquote(parts["Signature"])),
            signed.encode("ascii"),
            padding.PKCS1v15(),
            digests[sig_alg](),
        )
    except (InvalidSignature, ValueError) as exc:
        raise ValueError("The request's signature does not verify.") from exc
