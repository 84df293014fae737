"""The Assertion Consumer Service's checks of a SAML response (pure: lxml, signxml, xmlsec).

Signatures are checked by signxml's verifier against the configured identity provider
certificate only, and everything read afterwards comes from the element signxml returns as
signed (never from the document as posted). Encrypted assertions are decrypted by xmlsec
(libxmlsec1) with the private key handed over in memory. Any refusal raises `Refused` with a
short code (for the audit trail and tests) and a sentence to show the user.
"""

import base64
import binascii
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import xmlsec
from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from certadmin.saml import DS, SAML, SAMLP

XENC = "http://www.w3.org/2001/04/xmlenc#"
_STATUS = "urn:oasis:names:tc:SAML:2.0:status:"
SUCCESS = _STATUS + "Success"
# The status codes SAML core defines (3.2.2.2): a refusal names them even in an unsigned
# response, as they are words of ours; any other code only when the response is signed.
STATUS_CODES = frozenset(
    _STATUS + name
    for name in (  # noqa: SIM905 (a list literal would take 25 lines)
        "Success Requester Responder VersionMismatch AuthnFailed InvalidAttrNameOrValue "
        "InvalidNameIDPolicy NoAuthnContext NoAvailableIDP NoPassive NoSupportedIDP "
        "PartialLogout ProxyCountExceeded RequestDenied RequestUnsupported "
        "RequestVersionDeprecated RequestVersionTooHigh RequestVersionTooLow "
        "ResourceNotRecognized TooManyResponses UnknownAttrProfile UnknownPrincipal "
        "UnsupportedBinding"
    ).split()
)
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
# Clocks of the identity provider and this server may differ by this much.
CLOCK_SKEW = timedelta(minutes=2)
# Dates past this one are read as this one (room left for the skew before datetime.max).
_LAST_DATE = datetime(9999, 1, 1, tzinfo=UTC)
# An assertion is a few KiB; a 256 KiB post is not a response from an identity provider.
MAX_RESPONSE_BYTES = 256 * 1024
# RSA PKCS#1 v1.5 key transport is open to padding-oracle attacks: OAEP only.
KEY_TRANSPORTS = {
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
}

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,  # a comment inside a NameID must not split what we read from it
    remove_pis=True,
)
_SIGNED_AT_ROOT = SignatureConfiguration(location="./", expect_references=1)


class Refused(Exception):
    """The response is refused; `code` names the check, `reason` is for the user and admin.
    `signed`: the refusal is about what a verified signature covers (check_response sets it);
    otherwise anyone could have posted it, and `reason` never repeats what it says."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.signed = False


@contextmanager
def _signed_part(signed: bool = True) -> Iterator[None]:
    """Refusals raised inside are about content a verified signature covers (if `signed`)."""
    try:
        yield
    except Refused as refused:
        refused.signed = refused.signed or signed
        raise


@dataclass(frozen=True)
class Expected:
    """What this service provider configuration accepts."""

    idp_entity_id: str
    idp_certificate: x509.Certificate
    audience: str  # our entity id
    acs_url: str  # the Destination and Recipient
    now: datetime
    decryption_keys: xmlsec.KeysManager | None = None  # see decryption_keys()
    skew: timedelta = CLOCK_SKEW


@dataclass(frozen=True)
class Assertion:
    """What a valid response says, read from signed elements only."""

    response_id: str
    assertion_id: str
    in_response_to: str | None
    name_id: str
    name_id_format: str
    not_on_or_after: datetime  # how long the assertion id must be remembered against replay
    encrypted: bool
    attributes: dict[str, list[str]] = field(default_factory=dict)


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def parse_document(raw: bytes) -> etree._Element:
    """Parse XML without DTDs, entities or network access; a DOCTYPE is refused outright."""
    if len(raw) > MAX_RESPONSE_BYTES:
        raise Refused("too_large", "The SAML response is too large.")
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():
        raise Refused("doctype", "The SAML response contains a DOCTYPE or entity declarations.")
    try:
        tree = etree.fromstring(raw, parser=_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise Refused("malformed", "The SAML response is not well-formed XML.") from exc
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise Refused("doctype", "The SAML response contains a DOCTYPE or entity declarations.")
    return tree.getroot()


def decode_post(value: str) -> bytes:
    """The SAMLResponse form field of the HTTP-POST binding (base64)."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=False)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise Refused("malformed", "The SAMLResponse field is not base64.") from exc
    if not raw:
        raise Refused("malformed", "The SAMLResponse field is empty.")
    return raw


def _has_signature(element: etree._Element) -> bool:
    return element.find(_q(DS, "Signature")) is not None


def _verify(element: etree._Element, expected: Expected, what: str) -> etree._Element:
    return verify_enveloped(
        element,
        expected.idp_certificate,
        what,
        signer="the identity provider certificate of this configuration",
    )


def verify_enveloped(
    element: etree._Element, certificate: x509.Certificate, what: str, *, signer: str
) -> etree._Element:
    """Verify the enveloped signature that is a child of `element` with `certificate` and
    return what signxml says was signed, which must be that element itself (same tag, ID)."""
    standalone = etree.fromstring(etree.tostring(element), parser=_PARSER)
    try:
        result = XMLVerifier().verify(
            standalone,
            x509_cert=certificate,
            id_attribute="ID",
            expect_config=_SIGNED_AT_ROOT,
        )
    except (InvalidSignature, InvalidInput, etree.DocumentInvalid, ValueError) as exc:
        # DocumentInvalid: a Signature that breaks the XML Signature schema (signxml checks
        # it before anything else); ValueError: unreadable base64 or key material inside it.
        raise Refused(
            "bad_signature",
            f"The {what} signature does not verify with {signer}.",
        ) from exc
    signed = cast(etree._Element, getattr(result, "signed_xml", None))
    if signed is None or signed.tag != element.tag or signed.get("ID") != element.get("ID"):
        raise Refused("wrapped", f"The {what} signature covers another element.")
    return signed


def decryption_keys(private_key_pem: bytes) -> xmlsec.KeysManager:
    """An xmlsec key manager holding the Assertion Decryption Certificate's private key, handed
    over as PEM in memory. Every key manager loads the system's CA bundle when it is made
    (~20 ms, more than the decryption it serves), so callers keep theirs (certadmin.held)."""
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_memory(private_key_pem, xmlsec.constants.KeyDataFormatPem))
    return manager


def _encrypted_data(encrypted: etree._Element, expected: Expected) -> etree._Element:
    """The EncryptedData of an EncryptedAssertion, once what can be checked before decrypting
    is (a key to decrypt with, RSA-OAEP key transport), as a document of its own."""
    if expected.decryption_keys is None:
        raise Refused(
            "no_decryption_key",
            "The assertion is encrypted but this configuration has no Assertion Decryption "
            "Certificate.",
        )
    data = encrypted.find(_q(XENC, "EncryptedData"))
    if data is None:
        raise Refused("malformed", "The encrypted assertion holds no EncryptedData.")
    for method in encrypted.iter(_q(XENC, "EncryptionMethod")):
        parent = method.getparent()
        wraps_key = parent is not None and parent.tag == _q(XENC, "EncryptedKey")
        if wraps_key and method.get("Algorithm") not in KEY_TRANSPORTS:
            raise Refused("weak_encryption", "The assertion's key is not wrapped with RSA-OAEP.")
    return etree.fromstring(etree.tostring(data), parser=_PARSER)


def _decrypt(data: etree._Element, expected: Expected) -> etree._Element:
    try:
        decrypted = xmlsec.EncryptionContext(expected.decryption_keys).decrypt(data)
    except xmlsec.Error as exc:
        raise Refused(
            "decryption_failed",
            "The assertion could not be decrypted with the Assertion Decryption Certificate's "
            "key (was it encrypted to another certificate?).",
        ) from exc
    if not isinstance(decrypted, etree._Element):
        raise Refused("malformed", "The encrypted assertion does not hold an XML element.")
    # Re-read the plaintext with the same safe parser as the envelope.
    assertion = parse_document(etree.tostring(decrypted))
    if assertion.tag != _q(SAML, "Assertion"):
        raise Refused("malformed", "The encrypted assertion does not hold an Assertion.")
    return assertion


def _signed_assertion(
    assertion: etree._Element, expected: Expected, *, response_signed: bool
) -> etree._Element:
    """The assertion as its signature covers it, if it has one; Refused when neither the
    response nor the assertion is signed."""
    if _has_signature(assertion):
        return _verify(assertion, expected, "assertion")
    if not response_signed:
        raise Refused("unsigned", "Neither the response nor the assertion is signed.")
    return assertion


def _open_unsigned(encrypted: etree._Element, expected: Expected) -> etree._Element:
    """Decrypt and verify an encrypted assertion whose response is not signed. Nothing
    signed covers the ciphertext then, so a sender may alter it and watch the answer: every
    failure from decryption on reads the same (one code, one status), so that the ACS is no
    padding or format oracle (Jager and Somorovsky, "How to Break XML Encryption", 2011)."""
    data = _encrypted_data(encrypted, expected)
    try:
        return _signed_assertion(_decrypt(data, expected), expected, response_signed=False)
    except Refused as refused:
        raise Refused(
            "undecryptable",
            "The encrypted assertion could not be decrypted and verified: it must be encrypted "
            "to the Assertion Decryption Certificate and signed with the Identity Provider "
            "Certificate.",
        ) from refused


def _time(value: str | None, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)  # Python 3.11 reads the "Z"
    except ValueError as exc:
        raise Refused("malformed", f"The {what} time is not a valid dateTime.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _check_issuer(
    element: etree._Element, expected: Expected, *, what: str, required: bool, signed: bool
) -> None:
    """The Issuer of `element` (the response or the assertion), named in the refusal only if
    `signed`: an anonymous post must not write its own words into the audit trail."""
    issuer = element.find(_q(SAML, "Issuer"))
    if issuer is None and not required:
        return
    name = _text(issuer)
    if name == expected.idp_entity_id:
        return
    if not name:
        said = f"The {what} names no Issuer"
    elif signed:
        said = f"The {what} comes from {name[:200]!r}"
    else:
        said = f"The {what} (not signed, so its Issuer is not shown) comes from another issuer"
    raise Refused(
        "wrong_issuer", f"{said}, not from this configuration's Identity Provider Entity ID."
    )


def _status_refusal(status: etree._Element | None, *, signed: bool) -> Refused:
    """idp_status: the top-level and second-level codes, those SAML does not define only when
    the response is signed."""
    codes = [status, *status.findall(_q(SAMLP, "StatusCode"))[:1]] if status is not None else []
    values = [code.get("Value") or "" for code in codes]
    named = [
        value.removeprefix(_STATUS) if value in STATUS_CODES else value[-60:] if signed else "?"
        for value in values
    ]
    hidden = "" if signed or "?" not in named else "; codes SAML does not define are not shown"
    return Refused(
        "idp_status",
        f"The identity provider did not log the user in (status {' / '.join(named) or 'none'}"
        f"{hidden}).",
    )


def _check_conditions(assertion: etree._Element, expected: Expected) -> datetime | None:
    """NotBefore/NotOnOrAfter and the audience; returns the Conditions' end of validity."""
    now, skew = expected.now, expected.skew
    conditions = assertion.find(_q(SAML, "Conditions"))
    if conditions is None:
        raise Refused("no_conditions", "The assertion has no Conditions (audience, validity).")
    not_before = _time(conditions.get("NotBefore"), "NotBefore")
    not_on_or_after = _time(conditions.get("NotOnOrAfter"), "NotOnOrAfter")
    if not_before is not None and now + skew < not_before:
        raise Refused("not_yet_valid", "The assertion is not valid yet (check the clocks).")
    if not_on_or_after is not None and now - skew >= not_on_or_after:
        raise Refused("expired", "The assertion has expired.")
    restrictions = conditions.findall(_q(SAML, "AudienceRestriction"))
    if not restrictions:
        raise Refused("wrong_audience", "The assertion names no audience.")
    for restriction in restrictions:  # every restriction must admit us (SAML core 2.5.1.4)
        audiences = {_text(a) for a in restriction.findall(_q(SAML, "Audience"))}
        if expected.audience not in audiences:
            raise Refused(
                "wrong_audience",
                "The assertion is meant for another service provider (its audience is not "
                "this configuration's Issuer).",
            )
    return not_on_or_after


def _check_subject(
    assertion: etree._Element, expected: Expected
) -> tuple[str, str, str | None, datetime]:
    """The NameID, its format, the InResponseTo of the bearer confirmation and the end of
    that confirmation's validity."""
    subject = assertion.find(_q(SAML, "Subject"))
    name_id = subject.find(_q(SAML, "NameID")) if subject is not None else None
    if subject is None or name_id is None or not _text(name_id):
        raise Refused("no_name_id", "The assertion names no user (no NameID).")
    confirmations = [
        data
        for confirmation in subject.findall(_q(SAML, "SubjectConfirmation"))
        if confirmation.get("Method") == BEARER
        for data in confirmation.findall(_q(SAML, "SubjectConfirmationData"))
    ]
    if not confirmations:
        raise Refused("no_confirmation", "The assertion has no bearer subject confirmation.")
    # The id must be remembered until no confirmation can be accepted any more: the latest
    # of their ends (check_response), whichever one this post was accepted by.
    ends = [
        _time(d.get("NotOnOrAfter"), "SubjectConfirmationData NotOnOrAfter") for d in confirmations
    ]
    latest = max((end for end in ends if end is not None), default=None)
    refusal: Refused | None = None
    for data, until in zip(confirmations, ends, strict=True):
        recipient = data.get("Recipient")
        if recipient != expected.acs_url:
            refusal = Refused(
                "wrong_recipient",
                "The assertion is meant for another Assertion Consumer Service URL (Recipient).",
            )
        elif until is None or latest is None or expected.now - expected.skew >= until:
            refusal = Refused("expired", "The assertion's subject confirmation has expired.")
        else:
            return (_text(name_id), name_id.get("Format") or "", data.get("InResponseTo"), latest)
    assert refusal is not None
    raise refusal


def _attributes(assertion: etree._Element) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for attribute in assertion.iter(_q(SAML, "Attribute")):
        name = attribute.get("Name") or ""
        values.setdefault(name, []).extend(
            _text(v) for v in attribute.findall(_q(SAML, "AttributeValue"))
        )
    return values


def check_response(raw: bytes, expected: Expected) -> Assertion:
    """Every check of SAML core and the Web Browser SSO profile this SP relies on; Refused."""
    document = parse_document(raw)
    if document.tag != _q(SAMLP, "Response"):
        raise Refused("malformed", "The posted document is not a SAML Response.")
    response_signed = _has_signature(document)
    response = _verify(document, expected, "response") if response_signed else document
    with _signed_part(response_signed):
        found, encrypted = _envelope(response, expected, signed=response_signed)
        if encrypted and not response_signed:
            assertion = _open_unsigned(found, expected)
        else:
            if encrypted:
                found = _decrypt(_encrypted_data(found, expected), expected)
            assertion = _signed_assertion(found, expected, response_signed=response_signed)
    with _signed_part():  # from here on, every value read is signed
        return _read_assertion(response, assertion, expected, response_signed, encrypted)


def _envelope(
    response: etree._Element, expected: Expected, *, signed: bool
) -> tuple[etree._Element, bool]:
    """The status, issuer and destination of the response; its one assertion, and whether
    that is encrypted."""
    status = response.find(f"{_q(SAMLP, 'Status')}/{_q(SAMLP, 'StatusCode')}")
    if status is None or status.get("Value") != SUCCESS:
        raise _status_refusal(status, signed=signed)
    _check_issuer(response, expected, what="response", required=False, signed=signed)
    destination = response.get("Destination")
    if destination is not None and destination != expected.acs_url:
        raise Refused(
            "wrong_destination",
            "The response was sent to another Assertion Consumer Service URL (Destination).",
        )
    if signed and destination is None:
        raise Refused("wrong_destination", "The signed response names no Destination.")
    # Exactly one assertion anywhere: a second one (beside the signed one, or the signed one
    # moved into Extensions or elsewhere) is signature wrapping.
    plain = list(response.iter(_q(SAML, "Assertion")))
    encrypted = list(response.iter(_q(SAML, "EncryptedAssertion")))
    if len(plain) + len(encrypted) != 1:
        raise Refused(
            "assertion_count",
            f"The response holds {len(plain) + len(encrypted)} assertions; exactly one is "
            "accepted.",
        )
    found = (encrypted or plain)[0]
    if found.getparent() is not response:
        raise Refused("wrapped", "The assertion is not where SAML puts it.")
    return found, bool(encrypted)


def _read_assertion(
    response: etree._Element,
    assertion: etree._Element,
    expected: Expected,
    response_signed: bool,
    encrypted: bool,
) -> Assertion:
    """The checks of the (signed) assertion itself; what it says."""
    _check_issuer(assertion, expected, what="assertion", required=True, signed=True)
    conditions_until = _check_conditions(assertion, expected)
    name_id, name_format, confirmation_irt, confirmed_until = _check_subject(assertion, expected)
    # Its id is remembered against replay until it can be accepted no more: the latest end
    # it names (without NotOnOrAfter in Conditions, the confirmation's end, which may be
    # hours away, is what bounds it), at most a date that still leaves room for the skew.
    until = min(max(conditions_until or confirmed_until, confirmed_until), _LAST_DATE)
    response_irt = response.get("InResponseTo") if response_signed else None
    if response_irt and confirmation_irt and response_irt != confirmation_irt:
        raise Refused("unknown_request", "The response and its assertion answer other requests.")
    if not assertion.get("ID"):
        raise Refused("malformed", "The assertion has no ID.")
    return Assertion(
        response_id=response.get("ID") or "",
        assertion_id=assertion.get("ID") or "",
        in_response_to=confirmation_irt or response_irt,
        name_id=name_id,
        name_id_format=name_format,
        not_on_or_after=until,
        encrypted=encrypted,
        attributes=_attributes(assertion),
    )
