"""Writes and documents of SAML single sign-on and the org's Identity Provider (SPEC 7)."""

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Field, QuerySet
from django.utils import timezone

from certadmin import saml, usage
from certadmin.crypto import display, keypairs, parsing
from certadmin.models import Certificate, IdentityProvider, ProxyCertificate, SamlSsoConfig
from certadmin.models.sso import RSA_KEY_TYPES
from certadmin.services import certificates
from keys import envelope
from orgs.links import absolute
from orgs.models import Organization
from orgs.services.audit import record_audit

SECTION_SSO = "Single Sign-On Settings"
SECTION_IDP = "Identity Provider"
PROXY_KEY_PURPOSE = "certadmin.ProxyCertificate.private_key"
_FORM_FIELDS = {
    "idp_certificate_pem": "idp_certificate",
    "idp_certificate_subject": "idp_certificate",
}
_FORM_FIELD_NAMES = {
    "name",
    "issuer",
    "idp_entity_id",
    "idp_login_url",
    "idp_certificate",
    "request_signing_certificate",
    "signature_method",
    "assertion_decryption_certificate",
    "show_on_login_page",
    "allow_idp_initiated",
    "jit_provisioning",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class SsoSettings:
    """What the SAML SSO form edits. On an update, `idp_certificate_pem=None` keeps the stored
    IdP certificate and `request_signing_certificate=None` keeps the retired proxy certificate
    of a configuration that still uses it."""

    name: str
    issuer: str
    idp_entity_id: str
    idp_login_url: str
    request_signing_certificate: Certificate | None
    signature_method: str = saml.RSA_SHA256
    assertion_decryption_certificate: Certificate | None = None
    idp_certificate_pem: str | None = None
    show_on_login_page: bool = False
    allow_idp_initiated: bool = False
    jit_provisioning: bool = False


def selectable_certificates(
    org: Organization, *, now: datetime | None = None
) -> QuerySet[Certificate]:
    """The certificates SAML pages may offer: the org's, with a signed chain (not awaiting
    one), an RSA key (SAML's signature methods are RSA ones), not expired."""
    now = now or timezone.now()
    return (
        Certificate.objects.for_org(org)
        .usable()
        .filter(key_type__in=RSA_KEY_TYPES, not_after__gt=now)
        .select_related("organization")
        .order_by("label", "unique_name")
    )


def check_selectable(
    certificate: Certificate, *, org: Organization, role: str, now: datetime | None = None
) -> None:
    """Raise ValidationError unless `certificate` may be chosen as `role` in `org`."""
    if certificate.organization_id != org.pk:
        raise ValidationError(f"The {role} must be a certificate of this org.")
    if certificate.is_awaiting_signature:
        raise ValidationError(
            f"{certificate.unique_name} is awaiting its signed certificate and cannot be the "
            f"{role} until it is uploaded."
        )
    if certificate.key_type not in RSA_KEY_TYPES:
        raise ValidationError(
            f"{certificate.unique_name} has an {certificate.key_label} key; the {role} needs an "
            "RSA key."
        )
    if certificate.is_expired(now):
        raise ValidationError(f"{certificate.unique_name} has expired; choose a current one.")


def parse_idp_certificate(data: bytes) -> x509.Certificate:
    """The identity provider's certificate from an upload (PEM or DER); ValidationError."""
    try:
        certs = parsing.parse_certificates(data, max_bytes=settings.CERTADMIN_UPLOAD_MAX_BYTES)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if len(certs) != 1:
        raise ValidationError(
            f"The file holds {len(certs)} certificates; upload only the identity provider's "
            "signing certificate."
        )
    return certs[0]


def _apply(config: SamlSsoConfig, data: SsoSettings, *, now: datetime) -> list[str]:
    """Copy `data` onto `config`, checking each newly chosen certificate; the changed labels."""
    org = config.organization
    changed = []
    for field in (
        "name",
        "issuer",
        "idp_entity_id",
        "idp_login_url",
        "signature_method",
        "show_on_login_page",
        "allow_idp_initiated",
        "jit_provisioning",
    ):
        value = getattr(data, field)
        if getattr(config, field) != value:
            setattr(config, field, value)
            model_field = SamlSsoConfig._meta.get_field(field)
            assert isinstance(model_field, Field)  # a column of the config, not a relation
            changed.append(str(model_field.verbose_name))
    if data.signature_method not in SamlSsoConfig.SignatureMethod.values:
        raise ValidationError({"signature_method": ["Choose RSA-SHA256 or RSA-SHA1."]})
    signer = data.request_signing_certificate
    if signer is not None and signer.pk != config.request_signing_certificate_id:
        check_selectable(signer, org=org, role="Request Signing Certificate", now=now)
        config.request_signing_certificate = signer
        config.proxy_certificate = None  # choosing a certificate retires the proxy for good
        changed.append("Request Signing Certificate")
    elif signer is None and config.proxy_certificate_id is None:
        raise ValidationError(
            {"request_signing_certificate": ["Choose the Request Signing Certificate."]}
        )
    decrypter = data.assertion_decryption_certificate
    if (decrypter.pk if decrypter else None) != config.assertion_decryption_certificate_id:
        if decrypter is not None:
            check_selectable(decrypter, org=org, role="Assertion Decryption Certificate", now=now)
        config.assertion_decryption_certificate = decrypter
        changed.append("Assertion Decryption Certificate")
    if data.idp_certificate_pem is not None:
        idp_cert = parse_idp_certificate(data.idp_certificate_pem.encode())
        pem = display.certificate_pem(idp_cert)
        if pem != config.idp_certificate_pem:
            config.idp_certificate_pem = pem
            config.idp_certificate_subject = display.name_to_string(idp_cert.subject)
            config.idp_certificate_not_after = idp_cert.not_valid_after_utc
            changed.append("Identity Provider Certificate")
    if not config.idp_certificate_pem:
        raise ValidationError({"idp_certificate": ["Upload the identity provider's certificate."]})
    return changed


def _save(config: SamlSsoConfig) -> None:
    try:
        config.full_clean()
    except ValidationError as exc:  # name the form's fields, not the model's columns
        errors: dict[str, list[str]] = {}
        for key, messages in exc.message_dict.items():
            key = _FORM_FIELDS.get(key, key)
            if key not in _FORM_FIELD_NAMES:
                key = NON_FIELD_ERRORS
            errors.setdefault(key, []).extend(messages)
        raise ValidationError(errors) from exc
    try:
        with transaction.atomic():
            config.save()
    except IntegrityError as exc:  # a concurrent save took the name between check and save
        raise ValidationError(
            {"name": ["A SAML SSO configuration with this name already exists."]}
        ) from exc


@transaction.atomic
def create_sso_config(
    *, org: Organization, data: SsoSettings, acting_user: User | None, now: datetime | None = None
) -> SamlSsoConfig:
    """Create a SAML SSO configuration; raise ValidationError naming what is wrong."""
    now = now or timezone.now()
    config = SamlSsoConfig(
        organization=org, created_at=now, modified_at=now, created_by=acting_user
    )
    config.modified_by = acting_user
    signer = data.request_signing_certificate
    if signer is None:
        raise ValidationError(
            {"request_signing_certificate": ["Choose the Request Signing Certificate."]}
        )
    _apply(config, data, now=now)  # makes `signer` the config's Request Signing Certificate
    _save(config)
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION_SSO,
        action="createdSamlSsoConfig",
        message=f"Created SAML SSO configuration {config.name} (requests signed with "
        f"{signer.unique_name}, {config.signature_method})",
    )
    return config


@transaction.atomic
def update_sso_config(
    *,
    config: SamlSsoConfig,
    data: SsoSettings,
    acting_user: User | None,
    now: datetime | None = None,
) -> list[str]:
    """Change a configuration; returns the labels of the fields that changed."""
    now = now or timezone.now()
    changed = _apply(config, data, now=now)
    if not changed:
        return []
    config.modified_at, config.modified_by = now, acting_user
    _save(config)
    record_audit(
        org=config.organization,
        acting_user=acting_user,
        section=SECTION_SSO,
        action="changedSamlSsoConfig",
        message=f"Changed SAML SSO configuration {config.name}: {', '.join(changed)}",
    )
    return changed


@transaction.atomic
def delete_sso_config(*, config: SamlSsoConfig, acting_user: User | None) -> None:
    """Delete a configuration; its certificates are free to go once nothing else uses them."""
    name, org = config.name, config.organization
    config.delete()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION_SSO,
        action="deletedSamlSsoConfig",
        message=f"Deleted SAML SSO configuration {name}",
    )


# --- documents --------------------------------------------------------------------------------


def _chain(pem: str) -> list[x509.Certificate]:
    return parsing.parse_certificates(pem.encode())


def _rsa(key: keypairs.PrivateKey) -> rsa.RSAPrivateKey:
    """SAML's signature methods are RSA ones: check_selectable admits RSA certificates only,
    and the proxy and Identity Provider keys are made RSA; saml.sign() refuses others alike."""
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("SAML request signatures need an RSA key.")
    return key


def request_signer(config: SamlSsoConfig) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
    """The key (loaded once, as signxml wants it) and chain that sign this config's requests."""
    if config.proxy_certificate_id is not None:
        proxy = config.proxy_certificate
        assert proxy is not None
        der = envelope.open_sealed(bytes(proxy.private_key), purpose=PROXY_KEY_PURPOSE)
        return _rsa(keypairs.load_private_key_der(der, trusted=True)), _chain(proxy.chain_pem)
    certificate = config.request_signing_certificate
    assert certificate is not None
    return _rsa(certificates.load_private_key(certificate)), _chain(certificate.chain_pem)


def certificate_pem(source: Certificate | ProxyCertificate) -> str:
    """The PEM of a certificate's leaf (what metadata and signatures carry)."""
    return display.certificate_pem(_chain(source.chain_pem)[0])


def signer_pem(config: SamlSsoConfig) -> str:
    """The PEM of the certificate that signs this config's requests (shown on its page)."""
    source = config.proxy_certificate or config.request_signing_certificate
    assert source is not None
    return certificate_pem(source)


def acs_url(config: SamlSsoConfig) -> str:
    """Where the identity provider posts its responses for this configuration (published in
    the metadata; certadmin.views.sso_login consumes them)."""
    org = config.organization
    return absolute(f"/o/{org.public_id}/sso/{config.uuid}/acs", org)


def sp_metadata(config: SamlSsoConfig, *, now: datetime | None = None) -> bytes:
    """Signed SP metadata with the request-signing certificate."""
    key, chain = request_signer(config)
    decrypter = config.assertion_decryption_certificate
    return saml.sp_metadata(
        entity_id=config.issuer,
        acs_url=acs_url(config),
        signing_chain=chain,
        decryption_certificate=_chain(decrypter.chain_pem)[0] if decrypter else None,
        key=key,
        method=config.signature_method,
        now=now or timezone.now(),
    )


def signed_authn_request(config: SamlSsoConfig, *, now: datetime | None = None) -> bytes:
    """A new AuthnRequest to the identity provider, signed as the configuration says."""
    key, chain = request_signer(config)
    return saml.authn_request(
        request_id=saml.new_id(),
        issuer=config.issuer,
        destination=config.idp_login_url,
        acs_url=acs_url(config),
        issue_instant=now or timezone.now(),
        key=key,
        chain=chain,
        method=config.signature_method,
    )


def retired_proxy() -> ProxyCertificate | None:
    """The installation's retired default proxy certificate, made by migration 0003. None if
    the row is gone (a flushed test database): then nothing can point at it either."""
    return ProxyCertificate.objects.first()


def proxy_uses(org: Organization) -> list[usage.Use]:
    """The org's configurations that still sign with the retired proxy certificate.

    One query: the certificate is the only row of its table, so its uses are the uses of
    any row (and there are none if the row is gone).
    """
    return usage.uses_of_any(ProxyCertificate, org=org)


# --- Identity Provider ------------------------------------------------------------------------


def identity_provider_of(org: Organization) -> IdentityProvider:
    """The org's Identity Provider settings (an unsaved, disabled one if never enabled)."""
    idp = (
        IdentityProvider.objects.select_related("certificate", "organization")
        .filter(organization=org)
        .first()
    )
    return idp or IdentityProvider(organization=org)


def day_label(moment: datetime) -> str:
    """`28Nov2026`: English month abbreviations whatever the server's locale."""
    return f"{moment:%d}{_MONTHS[moment.month - 1]}{moment:%Y}"


def default_certificate_name(org: Organization, now: datetime) -> str:
    """`SelfSignedCert_<ddMonYYYY>_<HHMMSS>` in the org's time zone, as Salesforce names it."""
    local = org.local(now)
    return f"SelfSignedCert_{day_label(local)}_{local:%H%M%S}"


def create_default_certificate(
    *, org: Organization, acting_user: User | None, now: datetime, key_type: str = "RSA-2048"
) -> Certificate:
    """A new self-signed certificate named `SelfSignedCert_<ddMonYYYY>_<HHMMSS>`."""
    base = default_certificate_name(org, now)
    name, n = base, 1
    while Certificate.objects.for_org(org).filter(unique_name__iexact=name).exists():
        n += 1
        name = f"{base}_{n}"
    return certificates.create_self_signed(
        org=org, label=name, unique_name=name, key_type=key_type, acting_user=acting_user, now=now
    )


@transaction.atomic
def enable_identity_provider(
    *,
    org: Organization,
    certificate: Certificate | None,
    acting_user: User | None,
    now: datetime | None = None,
) -> IdentityProvider:
    """Enable the org's Identity Provider with `certificate`, or with a new self-signed one."""
    now = now or timezone.now()
    idp, _ = IdentityProvider.objects.select_for_update().get_or_create(organization=org)
    if certificate is None:
        certificate = create_default_certificate(org=org, acting_user=acting_user, now=now)
    else:
        check_selectable(certificate, org=org, role="Identity Provider certificate", now=now)
    if idp.enabled and idp.certificate_id == certificate.pk:
        return idp
    was_enabled = idp.enabled
    idp.enabled, idp.certificate = True, certificate
    idp.modified_at, idp.modified_by = now, acting_user
    idp.save()
    if was_enabled:
        action, message = "changedIdpCertificate", "Changed the Identity Provider certificate to"
    else:
        action, message = "enabledIdp", "Enabled the Identity Provider with"
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION_IDP,
        action=action,
        message=f"{message} {certificate.unique_name}",
    )
    return idp


@transaction.atomic
def disable_identity_provider(*, org: Organization, acting_user: User | None) -> bool:
    """Disable the Identity Provider and release its certificate; False if it was not enabled."""
    idp = IdentityProvider.objects.select_for_update().filter(organization=org).first()
    if idp is None or not idp.enabled:
        return False
    idp.enabled, idp.certificate = False, None
    idp.modified_at, idp.modified_by = timezone.now(), acting_user
    idp.save()
    record_audit(
        org=org,
        acting_user=acting_user,
        section=SECTION_IDP,
        action="disabledIdp",
        message="Disabled the Identity Provider",
    )
    return True


def idp_entity_id(org: Organization) -> str:
    return absolute(f"/o/{org.public_id}/idp", org)


def idp_sso_url(org: Organization) -> str:
    """The Identity Provider's SingleSignOnService (metadata), on the host of the request."""
    return f"{idp_entity_id(org)}/sso"


def idp_metadata(idp: IdentityProvider, *, now: datetime | None = None) -> bytes:
    """Signed IdP metadata naming the Identity Provider's certificate."""
    certificate = idp.certificate
    if not idp.enabled or certificate is None:
        raise ValidationError("The Identity Provider is not enabled.")
    return saml.idp_metadata(
        entity_id=idp_entity_id(idp.organization),
        sso_url=idp_sso_url(idp.organization),
        chain=_chain(certificate.chain_pem),
        key=_rsa(certificates.load_private_key(certificate)),
        now=now or timezone.now(),
    )
