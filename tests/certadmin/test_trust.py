"""certadmin.trust: the chain checks of a Mutual Authentication Certificate upload, on
certificates built with `cryptography`, whose constraints each test sets (no database)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certadmin import trust

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _usage(*, cert_sign: bool = False, digital_signature: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=not cert_sign and not digital_signature,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = field(repr=False)


def issue(
    name: str,
    issuer: Issued | None = None,
    *,
    ca: bool = False,
    path_length: int | None = None,
    basic_constraints: bool = True,
    usage: x509.KeyUsage | None = None,
    name_constraints: x509.NameConstraints | None = None,
    dns_names: tuple[str, ...] = (),
) -> Issued:
    """A certificate for `name`, signed by `issuer` (self-signed without one)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
    )
    if basic_constraints:
        builder = builder.add_extension(x509.BasicConstraints(ca, path_length), critical=True)
    if usage is None:
        usage = _usage(cert_sign=True) if ca else _usage(digital_signature=True)
    builder = builder.add_extension(usage, critical=True)
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    if name_constraints is not None:
        builder = builder.add_extension(name_constraints, critical=True)
    if dns_names:
        san = x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names])
        builder = builder.add_extension(san, critical=False)
    return Issued(builder.sign(issuer.key if issuer else key, hashes.SHA256()), key)


def check(*certs: Issued, anchors: list[Issued]) -> trust.CheckedClientCertificate:
    return trust.check_client_certificate(
        [c.cert for c in certs],
        anchors=[a.cert for a in anchors],
        allow_self_signed=False,
        now=NOW,
    )


def refusal(*certs: Issued, anchors: list[Issued]) -> str:
    with pytest.raises(trust.ClientCertificateError) as excinfo:
        check(*certs, anchors=anchors)
    return str(excinfo.value)


def test_accepts_a_client_certificate_under_a_trusted_root() -> None:
    root = issue("Root CA", ca=True, path_length=1)
    intermediate = issue("Issuing CA", root, ca=True, path_length=0)
    client = issue("api-client", intermediate, dns_names=("api.acme.test",))

    checked = check(client, intermediate, anchors=[root])

    assert checked.chain == [client.cert, intermediate.cert]


def test_refuses_a_chain_longer_than_the_roots_path_length() -> None:
    root = issue("Root CA", ca=True, path_length=0)
    intermediate = issue("Issuing CA", root, ca=True)
    client = issue("api-client", intermediate)

    message = refusal(client, intermediate, anchors=[root])

    assert message == (
        "The chain is longer than 'CN=Root CA' allows: its basicConstraints allow 0 "
        "intermediate certificate authorities below it (pathLenConstraint), and the chain has 1."
    )


def test_refuses_a_chain_longer_than_an_intermediates_path_length() -> None:
    root = issue("Root CA", ca=True)
    policy = issue("Policy CA", root, ca=True, path_length=0)
    issuing = issue("Issuing CA", policy, ca=True)
    client = issue("api-client", issuing)

    message = refusal(client, issuing, policy, anchors=[root])

    assert "'CN=Policy CA' allows" in message
    assert "allow 0 intermediate certificate authorities" in message


def test_refuses_a_name_outside_the_permitted_subtree() -> None:
    """An issuing CA restricted to acme.test cannot vouch for a client of globex.test."""
    root = issue("Root CA", ca=True)
    only_acme = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("acme.test")], excluded_subtrees=None
    )
    intermediate = issue("Acme Issuing CA", root, ca=True, name_constraints=only_acme)
    client = issue("api-client", intermediate, dns_names=("api.globex.test",))

    message = refusal(client, intermediate, anchors=[root])

    assert message == (
        "The certificate 'CN=api-client' has a name that 'CN=Acme Issuing CA' may not issue "
        "certificates for (its name constraints do not allow it)."
    )


def test_refuses_an_excluded_name_constrained_by_the_trusted_root() -> None:
    excluded = x509.NameConstraints(
        permitted_subtrees=None, excluded_subtrees=[x509.DNSName("internal.test")]
    )
    root = issue("Root CA", ca=True, name_constraints=excluded)
    intermediate = issue("Issuing CA", root, ca=True)
    client = issue("api-client", intermediate, dns_names=("db.internal.test",))

    message = refusal(client, intermediate, anchors=[root])

    assert "may not issue certificates for" in message
    assert "'CN=Root CA'" in message


def test_accepts_a_name_inside_the_permitted_subtree() -> None:
    root = issue("Root CA", ca=True)
    only_acme = x509.NameConstraints(
        permitted_subtrees=[x509.DNSName("acme.test")], excluded_subtrees=None
    )
    intermediate = issue("Acme Issuing CA", root, ca=True, name_constraints=only_acme)
    client = issue("api-client", intermediate, dns_names=("api.acme.test",))

    assert check(client, intermediate, anchors=[root]).leaf == client.cert


def test_refuses_an_issuer_whose_key_usage_does_not_allow_signing_certificates() -> None:
    root = issue("Root CA", ca=True)
    intermediate = issue("Issuing CA", root, ca=True, usage=_usage(digital_signature=True))
    client = issue("api-client", intermediate)

    message = refusal(client, intermediate, anchors=[root])

    assert message == (
        "The certificate 'CN=Issuing CA' in the chain may not sign certificates: its key usage "
        "does not include keyCertSign (Certificate Sign)."
    )


def test_refuses_a_client_key_that_may_not_sign() -> None:
    root = issue("Root CA", ca=True)
    intermediate = issue("Issuing CA", root, ca=True)
    client = issue("api-client", intermediate, usage=_usage())  # keyEncipherment only

    message = refusal(client, intermediate, anchors=[root])

    assert message.startswith(
        "The certificate 'CN=api-client' cannot be used for client authentication: its key "
        "usage does not include digitalSignature"
    )


def test_refuses_a_trusted_root_without_basic_constraints() -> None:
    root = issue("Old Root", ca=True, basic_constraints=False)
    intermediate = issue("Issuing CA", root, ca=True)
    client = issue("api-client", intermediate)

    message = refusal(client, intermediate, anchors=[root])

    assert "The trusted root 'CN=Old Root' has no basicConstraints extension" in message


def test_validate_path_is_the_verifiers_answer() -> None:
    """The friendly checks come first; cryptography's path validation is the last word."""
    root = issue("Root CA", ca=True, path_length=0)
    intermediate = issue("Issuing CA", root, ca=True)
    client = issue("api-client", intermediate)

    with pytest.raises(trust.ClientCertificateError, match="pathLenConstraint"):
        trust.validate_path([client.cert, intermediate.cert], root.cert, at=NOW)
