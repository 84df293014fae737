"""The ACME protocol (RFC 8555) for certadmin, through the `acme` package certbot is built on
and josepy: no message of the protocol is built here by hand. Django-free.

What this module adds is certadmin's shape around the library: a client from a sealed key and
an account URL, the challenges of an order as plain data, the CA's problem documents and
network failures in words, and key rollover (RFC 8555 7.3.5), which the library signs (its
JWS) but has no call for.
"""

import datetime
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests
from acme import challenges, client, crypto_util, errors, jws, messages
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from josepy.errors import DeserializationError
from josepy.jwa import ES256, ES384, RS256, JWASignature
from josepy.jwk import JWK, JWKEC, JWKRSA

from certadmin.crypto.keypairs import PrivateKey

USER_AGENT = "certadmin (acme-python)"
HTTP_01 = "http-01"
DNS_01 = "dns-01"

# RFC 5280 CRLReason codes the revocation form offers (RFC 8555 7.6: the CA may refuse some).
REVOCATION_REASONS: tuple[tuple[int, str], ...] = (
    (0, "Unspecified"),
    (1, "Key compromise"),
    (3, "Affiliation changed"),
    (4, "Superseded"),
    (5, "Cessation of operation"),
)

# What a problem type means, in words, for a page or an email (RFC 8555 6.7).
_PROBLEM_WORDS = {
    "badNonce": "The CA refused a replayed or stale request (badNonce)",
    "rateLimited": "The CA's rate limit was reached (rateLimited); try again later",
    "unauthorized": "The CA refused the account (unauthorized)",
    "accountDoesNotExist": "The CA does not know this account (accountDoesNotExist)",
    "externalAccountRequired": "The CA needs an external account binding: enter the EAB key "
    "ID and HMAC key it gave you (externalAccountRequired)",
    "malformed": "The CA refused the request as malformed",
    "rejectedIdentifier": "The CA will not issue for this name (rejectedIdentifier)",
    "badCSR": "The CA refused the certificate signing request (badCSR)",
    "connection": "The CA could not connect to the name to validate it (connection)",
    "dns": "The CA's DNS lookup failed (dns)",
    "incorrectResponse": "The answer the CA found was not the expected one (incorrectResponse)",
    "caa": "A CAA record forbids this CA to issue for the name (caa)",
    "userActionRequired": "The CA needs you to act first (userActionRequired)",
    "serverInternal": "The CA had an internal error (serverInternal)",
    "alreadyRevoked": "The certificate is already revoked (alreadyRevoked)",
    "badRevocationReason": "The CA does not accept this revocation reason",
}


class AcmeProblem(Exception):
    """Something the CA (or the way to it) refused or failed, said in words."""

    def __init__(self, words: str, *, code: str = "", retry: bool = True) -> None:
        super().__init__(words)
        self.words = words
        self.code = code
        self.retry = retry  # worth trying again later (False: needs a person)


def _problem_words(problem: messages.Error) -> str:
    code = problem.code or ""
    base = _PROBLEM_WORDS.get(code, f"The CA answered with an error ({code or 'unknown'})")
    detail = (problem.detail or "").strip()
    return f"{base}: {detail}" if detail else base


_NEEDS_A_PERSON = {"unauthorized", "accountDoesNotExist", "externalAccountRequired", "malformed"}


def problem_of(exc: BaseException) -> AcmeProblem:
    """`exc` (from the acme library, requests or josepy) as an AcmeProblem in words."""
    if isinstance(exc, AcmeProblem):
        return exc
    if isinstance(exc, messages.Error):
        code = exc.code or ""
        return AcmeProblem(_problem_words(exc), code=code, retry=code not in _NEEDS_A_PERSON)
    if isinstance(exc, errors.ValidationError):
        words = []
        for authzr in exc.failed_authzrs:
            domain = authzr.body.identifier.value
            for chall in authzr.body.challenges:
                if chall.error is not None:
                    words.append(f"{domain}: {_problem_words(chall.error)}")
        return AcmeProblem(
            "The CA could not validate the challenge. " + "; ".join(words), code="validation"
        )
    if isinstance(exc, errors.IssuanceError):
        return problem_of(exc.error)
    if isinstance(exc, errors.TimeoutError):
        return AcmeProblem("The CA did not finish the order in time.", code="timeout")
    if isinstance(exc, errors.ConflictError):
        return AcmeProblem("The CA already has an account for this key.", code="conflict")
    if isinstance(exc, requests.exceptions.SSLError):
        return AcmeProblem(f"The CA's TLS certificate is not trusted ({_short(exc)}).", code="tls")
    if isinstance(exc, requests.exceptions.Timeout):
        return AcmeProblem("The CA did not answer in time (unreachable).", code="unreachable")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return AcmeProblem(f"The CA is unreachable ({_short(exc)}).", code="unreachable")
    if isinstance(exc, requests.exceptions.RequestException):
        return AcmeProblem(f"The request to the CA failed ({_short(exc)}).", code="network")
    if isinstance(exc, errors.Error | DeserializationError | ValueError | KeyError):
        return AcmeProblem(f"The CA's answer was not understood ({_short(exc)}).", code="protocol")
    raise exc


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


# --- keys and the client ----------------------------------------------------------------------


def jwk_of(key: PrivateKey) -> JWK:
    if isinstance(key, rsa.RSAPrivateKey):
        return JWKRSA(key=key)
    return JWKEC(key=key)


def alg_of(key: PrivateKey) -> JWASignature:
    if isinstance(key, rsa.RSAPrivateKey):
        return RS256
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return ES384 if key.curve.name == "secp384r1" else ES256


@dataclass(frozen=True)
class Endpoint:
    """Where the CA is and how to reach it."""

    directory_url: str
    verify: str | bool = True  # a CA bundle path, or True for the system's
    timeout: int = 30


def connect(endpoint: Endpoint, key: PrivateKey, account_url: str = "") -> client.ClientV2:
    """A client of the CA's directory signing with `key` (as `account_url` once registered)."""
    try:
        net = client.ClientNetwork(
            jwk_of(key),
            alg=alg_of(key),
            verify_ssl=endpoint.verify,  # type: ignore[arg-type]  # requests takes a path too
            user_agent=USER_AGENT,
            timeout=endpoint.timeout,
        )
        directory = client.ClientV2.get_directory(endpoint.directory_url, net)
        if account_url:
            net.account = messages.RegistrationResource(
                uri=account_url, body=messages.Registration()
            )
        return client.ClientV2(directory, net)
    except Exception as exc:
        raise problem_of(exc) from exc


def terms_of_service(acme: client.ClientV2) -> str:
    meta = getattr(acme.directory, "meta", None)
    return str(getattr(meta, "terms_of_service", "") or "")


def register(
    acme: client.ClientV2,
    *,
    email: str,
    terms_agreed: bool,
    eab_kid: str = "",
    eab_hmac_key: str = "",
) -> str:
    """Create the account at the CA; returns its URL (the `kid` of later requests)."""
    if terms_of_service(acme) and not terms_agreed:
        raise AcmeProblem(
            f"The CA asks you to agree to its terms of service ({terms_of_service(acme)}).",
            retry=False,
        )
    if acme.external_account_required() and not eab_kid:
        raise problem_of(messages.Error.with_code("externalAccountRequired"))
    try:
        eab = (
            messages.ExternalAccountBinding.from_data(
                account_public_key=_account_jwk(acme).public_key(),
                kid=eab_kid,
                hmac_key=eab_hmac_key,
                directory=acme.directory,
            )
            if eab_kid
            else None
        )
        registration = messages.NewRegistration.from_data(
            email=email or None,
            terms_of_service_agreed=bool(terms_agreed) or None,
            external_account_binding=eab,
        )
        regr = acme.new_account(registration)
    except Exception as exc:
        raise problem_of(exc) from exc
    return str(regr.uri)


def _account_jwk(acme: client.ClientV2) -> JWK:
    key: JWK | None = acme.net.key
    assert key is not None, "a client made by connect() always has a key"
    return key


def _registration(acme: client.ClientV2) -> messages.RegistrationResource:
    account = acme.net.account
    assert account is not None, "connect() with the account URL first"
    return account


def rollover(acme: client.ClientV2, new_key: PrivateKey) -> None:
    """Replace the account key by `new_key` at the CA (RFC 8555 7.3.5). The inner JWS is the
    library's (acme.jws), signed by the new key; the outer one is the library's POST, signed
    by the old key as the account."""
    account_url = _registration(acme).uri
    url = acme.directory["keyChange"]
    payload = json.dumps(
        {"account": account_url, "oldKey": _account_jwk(acme).public_key().to_partial_json()}
    ).encode()
    inner = jws.JWS.sign(payload, key=jwk_of(new_key), alg=alg_of(new_key), nonce=None, url=url)
    try:
        acme.net.post(url, inner, new_nonce_url=acme.directory["newNonce"])
    except Exception as exc:
        raise problem_of(exc) from exc


def deactivate(acme: client.ClientV2) -> None:
    try:
        acme.deactivate_registration(_registration(acme))
    except Exception as exc:
        raise problem_of(exc) from exc


# --- orders -----------------------------------------------------------------------------------


def make_csr(key: PrivateKey, domains: Sequence[str]) -> bytes:
    """PEM CSR naming `domains` (subjectAltName; the first is also the CN), by the library."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return crypto_util.make_csr(pem, list(domains))


def identifiers_of_csr(csr_pem: bytes) -> list[str]:
    csr = x509.load_pem_x509_csr(csr_pem)
    dns_names, ips = crypto_util.get_identifiers_from_x509(csr.subject, csr.extensions)
    return [*dns_names, *ips]


def has_subject_alt_names(csr_pem: bytes) -> bool:
    csr = x509.load_pem_x509_csr(csr_pem)
    try:
        csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return False
    return True


@dataclass(frozen=True)
class ChallengeToAnswer:
    domain: str
    kind: str  # HTTP_01 or DNS_01
    token: str  # http-01: the URL's last segment
    validation: str  # http-01: the key authorization; dns-01: the TXT value
    txt_name: str  # dns-01: the record name (_acme-challenge.<domain>)
    body: messages.ChallengeBody


def new_order(acme: client.ClientV2, csr_pem: bytes) -> messages.OrderResource:
    try:
        return acme.new_order(csr_pem)
    except Exception as exc:
        raise problem_of(exc) from exc


def challenges_of(
    acme: client.ClientV2, order: messages.OrderResource, kind: str
) -> list[ChallengeToAnswer]:
    """The `kind` challenge of each authorization still pending."""
    wanted = challenges.HTTP01 if kind == HTTP_01 else challenges.DNS01
    found = []
    for authzr in order.authorizations:
        if authzr.body.status != messages.STATUS_PENDING:
            continue
        domain = authzr.body.identifier.value
        challb = next((c for c in authzr.body.challenges if isinstance(c.chall, wanted)), None)
        if challb is None:
            raise AcmeProblem(
                f"The CA offers no {kind} challenge for {domain}; choose another challenge.",
                retry=False,
            )
        _response, validation = challb.response_and_validation(acme.net.key)
        chall = challb.chall
        found.append(
            ChallengeToAnswer(
                domain=domain,
                kind=kind,
                token=chall.encode("token") if kind == HTTP_01 else "",
                validation=str(validation),
                txt_name=chall.validation_domain_name(domain) if kind == DNS_01 else "",
                body=challb,
            )
        )
    return found


def answer(acme: client.ClientV2, todo: Sequence[ChallengeToAnswer]) -> None:
    """Tell the CA each challenge is ready to be checked."""
    try:
        for item in todo:
            acme.answer_challenge(item.body, item.body.response(acme.net.key))
    except Exception as exc:
        raise problem_of(exc) from exc


def finish(
    acme: client.ClientV2,
    order: messages.OrderResource,
    *,
    timeout: float = 90,
    on_validated: Callable[[], None] | None = None,
) -> str:
    """Wait for the authorizations, finalize, and return the full chain (PEM).

    `on_validated` is called once the CA has validated every name, before finalizing."""
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=timeout)
    try:
        validated = acme.poll_authorizations(order, deadline)
    except Exception as exc:
        raise problem_of(exc) from exc
    if on_validated is not None:
        on_validated()
    try:
        done = acme.finalize_order(validated, deadline)
    except Exception as exc:
        raise problem_of(exc) from exc
    return str(done.fullchain_pem)


def order_to_json(order: messages.OrderResource) -> str:
    return json.dumps(order.to_json())


def order_from_json(text: str) -> messages.OrderResource:
    order: messages.OrderResource = messages.OrderResource.from_json(json.loads(text))
    return order


def revoke(acme: client.ClientV2, certificate_pem: bytes, reason: int) -> None:
    try:
        acme.revoke(x509.load_pem_x509_certificate(certificate_pem), reason)
    except Exception as exc:
        raise problem_of(exc) from exc
